"""Rewrite curated Turtle files in canonical form, minting IRIs for blank-node assertion records.

Usage: python scripts/format_data.py [--check] [FILE ...]   (default: every data/*.ttl)

Each file is parsed, its blank-node ``ckg:Assertion`` records get content-derived ``ckga:`` IRIs,
and it is written back as ``longturtle`` with the project's prefixes. The rewrite is atomic
(temporary file, fsync, rename). ``--check`` changes nothing and exits 1 when a file is not in
canonical form (a test runs it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rdflib import Graph  # noqa: E402

from clinical_kg.canonical import canonical_turtle, mint_assertion_iris  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="report files not in canonical form; change nothing")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "data").glob("*.ttl"))
    stale = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        graph = Graph().parse(data=text, format="turtle")
        mint_assertion_iris(graph)
        canonical = canonical_turtle(graph)
        if canonical == text:
            continue
        stale.append(path)
        if not args.check:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(canonical)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o777)  # mkstemp creates 0600 files
            os.replace(tmp, path)
    for path in stale:
        print(("not canonical: " if args.check else "rewrote: ") + str(path), file=sys.stderr)
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
