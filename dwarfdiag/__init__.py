"""dwarfdiag: explain why Go binaries break BTF generation.

pahole turns DWARF into BTF and libbpf's ``btf__dedup()`` deduplicates it; on
real Go programs that step fails with ``btf__dedup failed!`` and no culprit.
dwarfdiag reads the same inputs, replays the same algorithms and names the
type, the cycle and the DWARF DIE behind the failure.
"""

__version__ = "0.1.0"
