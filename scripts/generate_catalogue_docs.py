"""Write docs/queries.md, the catalogue's documentation, from the #+ headers of queries/*.rq.

Usage: python scripts/generate_catalogue_docs.py [--check]

``--check`` exits 1 when docs/queries.md is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clinical_kg.catalogue import catalogue_markdown, load_catalogue  # noqa: E402

TARGET = ROOT / "docs" / "queries.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/queries.md is out of date")
    args = parser.parse_args()
    text = catalogue_markdown(load_catalogue(ROOT / "queries"))
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python scripts/generate_catalogue_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
