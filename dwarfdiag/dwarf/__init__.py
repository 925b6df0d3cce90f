"""DWARF in: statistics now, the TypeGraph loader with the encoder issue."""
