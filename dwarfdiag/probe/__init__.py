"""probe: where to put a uprobe on a Go function and where its arguments are at entry."""
