"""BTF: the model, raw reading and writing, bpftool-style dumps and the libbpf oracle."""
