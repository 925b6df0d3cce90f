"""The built-in corpus: Go programs of increasing complexity (``catalogue``),
their cached builds (``build``) and the matrix of builds x pahole toolchains
(``matrix``). The compilers and toolchains themselves live in
:mod:`dwarfdiag.toolchains`."""
