"""Real programs to investigate: a user's binary, a module at a version, a named target.

``catalogue`` reads ``corpus/external.toml`` (kubeadm, kubectl, helm, etcd,
prometheus, caddy, podman-remote) and the user's ``targets.toml``;
``modules`` builds ``MODULE/PATH@VERSION`` through the go command and the
module proxy into the cache; ``resolve`` turns a TARGET argument into the
binary and the DWARF behind it.
"""
