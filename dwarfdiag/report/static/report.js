// Search, sortable matrix, the trace steppers and the contents' counts. No network, no eval.
(function () {
  "use strict";
  var box = document.getElementById("q");
  var count = document.getElementById("search-count");

  // --- search: every [data-names] item; a section with no match is hidden whole ----
  function apply(q) {
    q = (q || "").toLowerCase().trim();
    var items = document.querySelectorAll("[data-names]");
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var hit = !q || items[i].getAttribute("data-names").indexOf(q) >= 0;
      items[i].hidden = !hit;
      if (hit && q) shown++;
      if (hit && q && items[i].tagName === "DETAILS") items[i].open = true;
    }
    var sections = document.querySelectorAll("main > section");
    for (var s = 0; s < sections.length; s++) {
      var sec = sections[s], own = sec.querySelectorAll("[data-names]");
      var any = own.length === 0 || !q;
      for (var j = 0; !any && j < own.length; j++) if (!own[j].hidden) any = true;
      // the verdict always stays; other sections go when nothing in them matches
      sec.hidden = !any && sec.id !== "verdict";
      var link = document.querySelector('nav#toc a[data-section="' + sec.id + '"]');
      if (link) link.classList.toggle("no-match", sec.hidden);
      if (q && any) {
        var det = sec.querySelector(":scope > details");
        if (det) det.open = true;
      }
    }
    // an open group keeps its matches visible: open the "more with this cause" box
    var others = document.querySelectorAll("details.others");
    for (var k = 0; k < others.length; k++) {
      if (q && others[k].querySelector("details.other:not([hidden])")) others[k].open = true;
    }
    count.textContent = q ? shown + " match" + (shown === 1 ? "" : "es") : "";
  }
  box.addEventListener("input", function () { apply(box.value); });
  var m = /[#&]q=([^&]*)/.exec(location.hash);
  if (m) {
    var q = m[1];
    try { q = decodeURIComponent(q); } catch (e) { /* "#q=%" is not URI-encoded: use it as typed */ }
    box.value = q;
    apply(q);
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== box) { e.preventDefault(); box.focus(); }
    if (e.key === "Escape" && document.activeElement === box) { box.value = ""; apply(""); }
  });

  // --- sortable tables: a heading's button sorts (mouse, or Enter/Space from the
  // keyboard); aria-sort tells assistive technology which way; numbers sort as numbers
  var tables = document.querySelectorAll("table.sortable");
  for (var t = 0; t < tables.length; t++) {
    (function (table) {
      var heads = table.querySelectorAll("thead th");
      for (var h = 0; h < heads.length; h++) {
        (function (th, col) {
          var button = th.querySelector("button") || th;
          button.addEventListener("click", function () {
            var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
            for (var x = 0; x < heads.length; x++) heads[x].setAttribute("aria-sort", "none");
            th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            var numeric = th.getAttribute("data-sort") === "num";
            rows.sort(function (a, b) {
              var u = a.cells[col].textContent.trim(), v = b.cells[col].textContent.trim();
              var c = numeric ? (parseFloat(u) || 0) - (parseFloat(v) || 0) : u.localeCompare(v);
              return c * dir;
            });
            for (var r = 0; r < rows.length; r++) body.appendChild(rows[r]);
          });
        })(heads[h], h);
      }
    })(tables[t]);
  }

  // --- steppers: one highlighted step; the first one on the failure's chain first ---
  var steppers = document.querySelectorAll(".stepper");
  for (var s = 0; s < steppers.length; s++) {
    (function (el) {
      var steps = el.querySelectorAll(".step"), pos = el.querySelector(".pos");
      var at = 0;
      for (var i = 0; i < steps.length; i++) { if (steps[i].classList.contains("on-chain")) { at = i; break; } }
      function show() {
        for (var i = 0; i < steps.length; i++) steps[i].classList.toggle("current", i === at);
        pos.textContent = steps.length ? (at + 1) + " / " + steps.length : "";
        if (steps[at] && steps[at].parentNode.scrollTo) {
          steps[at].parentNode.scrollTop = steps[at].offsetTop - steps[at].parentNode.offsetTop - 8;
        }
      }
      el.querySelector(".prev").addEventListener("click", function () { if (at > 0) { at--; show(); } });
      el.querySelector(".next").addEventListener("click", function () { if (at < steps.length - 1) { at++; show(); } });
      el.querySelector(".raw-toggle").addEventListener("click", function () {
        var raw = steps[at] && steps[at].querySelector(".raw");
        if (raw) raw.hidden = !raw.hidden;
      });
      show();
    })(steppers[s]);
  }
  document.body.setAttribute("data-ready", "1");
})();
