"""The corpus: Go programs of increasing complexity, their builds and the
toolchains (compilers, pahole, libbpf) they are run through."""
