"""One module per phase of libbpf's ``btf__dedup``; the driver lists them in order."""
