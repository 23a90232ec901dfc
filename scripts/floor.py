"""The floor under a ``ckg`` command: the shipped graph into raw pyoxigraph and one query, nothing else.

Usage: python scripts/floor.py QUERY_FILE TURTLE_FILE...

It loads the Turtle files into an in-memory pyoxigraph store, runs the SPARQL text of
QUERY_FILE (``scripts/bench_cli.py`` gives it the final text of the headline query, its
parameter bound) and prints the number of rows. It imports nothing but pyoxigraph: what a
command costs beyond it is the command's own start-up and work. Not imported by the package.

Example: python scripts/floor.py headline.rq ontology/clinical-kg.ttl data/*.ttl
"""

from __future__ import annotations

import sys

import pyoxigraph as ox


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 else 2)
    query_file, *files = sys.argv[1:]
    store = ox.Store()
    for path in files:
        store.bulk_load(path=path, format=ox.RdfFormat.TURTLE)
    with open(query_file, encoding="utf-8") as stream:
        text = stream.read()
    print(sum(1 for _ in store.query(text)))


if __name__ == "__main__":
    main()
