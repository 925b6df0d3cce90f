"""From diagnosis to BTF that works.

``final`` makes the deduplicated BTF pahole 1.32 + libbpf 1.7 write, with no
newer libbpf installed; ``names`` maps Go names to C-legal ones; ``kernel``
turns final BTF into BTF the kernel and C accept; ``compat`` rewrites the
reference-only cycles libbpf before 1.7 rejects; ``header`` writes a C header
of chosen types with their layout asserted.
"""
