"""``python -m dwarfdiag`` runs the same CLI as the ``dwarfdiag`` script."""

from dwarfdiag.cli import main

if __name__ == "__main__":
    main()
