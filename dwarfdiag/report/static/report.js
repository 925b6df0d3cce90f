// Search over type and program names, and the trace stepper. No network, no eval.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var box = document.getElementById("q");
  function apply(q) {
    q = (q || "").toLowerCase().trim();
    var items = document.querySelectorAll("[data-names]");
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var hit = !q || items[i].getAttribute("data-names").indexOf(q) >= 0;
      items[i].style.display = hit ? "" : "none";
      if (hit) shown++;
    }
    document.getElementById("search-count").textContent = q ? shown + " shown" : "";
  }
  box.addEventListener("input", function () { apply(box.value); });
  var m = /[#&]q=([^&]*)/.exec(location.hash);
  if (m) {
    var q = m[1];
    try { q = decodeURIComponent(q); } catch (e) { /* "#q=%" is not URI-encoded: use it as typed */ }
    box.value = q;
    apply(q);
  }
  var steppers = document.querySelectorAll(".stepper");
  for (var s = 0; s < steppers.length; s++) {
    (function (el) {
      var events = data.traces[el.getAttribute("data-trace")] || [];
      var at = events.length - 1;
      var out = el.querySelector("pre"), pos = el.querySelector(".pos");
      function show() {
        out.textContent = events.length ? JSON.stringify(events[at], null, 1) : "no events";
        pos.textContent = events.length ? (at + 1) + " / " + events.length : "";
      }
      el.querySelector(".prev").addEventListener("click", function () { if (at > 0) { at--; show(); } });
      el.querySelector(".next").addEventListener("click", function () { if (at < events.length - 1) { at++; show(); } });
      show();
    })(steppers[s]);
  }
  document.body.setAttribute("data-ready", "1");
})();
