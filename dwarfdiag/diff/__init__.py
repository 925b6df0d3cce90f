"""diff: how two builds' DWARF differ (gc against gccgo above all), and which differences matter for BTF."""
