"""Write docs/queries.md and the catalogue table of README.md from the #+ headers of queries/*.rq.

Usage: python scripts/generate_catalogue_docs.py [--check]

The README's table sits between the lines ``<!-- catalogue-table -->`` and
``<!-- /catalogue-table -->``. ``--check`` exits 1 when either is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clinical_kg.catalogue import catalogue_markdown, catalogue_table, load_catalogue  # noqa: E402

TARGET = ROOT / "docs" / "queries.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- catalogue-table -->", "<!-- /catalogue-table -->"


def readme_with_table(readme: str, table: str) -> str:
    """The README text with the block between the markers replaced by ``table``."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/queries.md is out of date")
    args = parser.parse_args()
    catalogue = load_catalogue(ROOT / "queries")
    wanted = {
        TARGET: catalogue_markdown(catalogue),
        README: readme_with_table(
            README.read_text(encoding="utf-8"), catalogue_table(catalogue, link="docs/queries.md")
        ),
    }
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python scripts/generate_catalogue_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
