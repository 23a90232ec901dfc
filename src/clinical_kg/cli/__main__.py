"""``python -m clinical_kg.cli``: the same as ``ckg``."""

from clinical_kg.cli import main

main()
