"""bisect: shrink a failing binary's BTF to minimal failing type sets, with Go reproducers."""
