"""Show, and on request write, the rows the catalogue queries give for their test cases.

Usage:
  python scripts/query_cases.py [QUERY...]                 what changed, case by case (nothing written)
  python scripts/query_cases.py QUERY... --write           write the new rows into tests/queries/QUERY.yaml
  python scripts/query_cases.py QUERY --add NAME [-p KEY=VALUE ...] [--write]   a new case
  python scripts/query_cases.py --hpo [QUERY...] [--write] ...   the same for tests/queries/hpo/

``tests/queries/<query>.yaml`` holds the exact rows each case must give (tests/test_catalogue.py
checks them on both stores; ``tests/queries/hpo/<query>.yaml`` the rows on the shipped data with the
HPO fixture imported, tests/test_import_hpo.py). When the data or a query changes, this prints every row a case
gains or loses, so that each one can be read against the source text before ``--write`` takes
it; a row that has not been read has no place in a case file. Rows are run on the Oxigraph store
and must be the same on the memory store (the script stops otherwise). Cases that expect an
error are left as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "queries"
HEADER = (
    "# Exact expected rows of queries/{name}.rq on the shipped data (both stores).\n"
    "# Reviewed against the source text; see tests/test_catalogue.py.\n"
)
HPO_CASES = CASES / "hpo"
HPO_HEADER = (
    "# Exact expected rows of queries/{name}.rq on the shipped data with the HPO fixture imported\n"
    "# (tests/fixtures/hpo), on both stores. Reviewed against the fixture's rows; see tests/test_import_hpo.py.\n"
)


def rows_of(kg, name: str, params: dict) -> list[dict[str, str]]:
    """The rows of a catalogue query as the case files write them (CURIEs, labels, literals)."""
    from clinical_kg.catalogue import run_query
    from clinical_kg.results import compact

    values = {k: v if isinstance(v, list) else [v] for k, v in (params or {}).items()}
    result = run_query(kg, name, values)
    return [{var: compact(term) for var, term in row.items() if term is not None} for row in result.dicts()]


def show_changes(case: str, old: list[dict], new: list[dict]) -> None:
    """Print the rows a case loses (-) and gains (+)."""
    as_text = [yaml.safe_dump(r, allow_unicode=True, width=10_000, sort_keys=False).strip() for r in (old + new)]
    old_text, new_text = as_text[: len(old)], as_text[len(old) :]
    gone = [r for r in old_text if r not in new_text]
    came = [r for r in new_text if r not in old_text]
    order = "" if gone or came or old_text == new_text else " (same rows, new order)"
    print(f"== {case}: {len(old)} -> {len(new)} rows{order}")
    for sign, rows in (("-", gone), ("+", came)):
        for row in rows:
            print("\n".join(f"  {sign} {line}" for line in row.splitlines()))
            print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", nargs="*", help="catalogue query names (default: every case file)")
    parser.add_argument("--write", action="store_true", help="write the new rows into the case files")
    parser.add_argument("--add", metavar="NAME", help="add a case named NAME to the one QUERY given")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="a parameter of --add")
    parser.add_argument("--hpo", action="store_true", help="the cases of tests/queries/hpo/ (the HPO fixture imported)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    from clinical_kg.store import open_graph

    cases, header = (HPO_CASES, HPO_HEADER) if args.hpo else (CASES, HEADER)
    if args.hpo:
        import tempfile

        from tests.conftest import with_hpo_fixture

        folder = tempfile.mkdtemp(prefix="query-cases-hpo-")
        stores = {name: with_hpo_fixture(name, Path(folder)) for name in ("oxigraph", "memory")}
    else:
        stores = {name: open_graph(name) for name in ("oxigraph", "memory")}
    names = args.queries or sorted(p.stem for p in cases.glob("*.yaml"))
    if args.add and len(names) != 1:
        parser.error("--add takes exactly one QUERY")
    for name in names:
        path = cases / f"{name}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {"query": name, "cases": []}
        if args.add:
            params: dict[str, list[str] | str] = {}
            for item in args.param:
                key, _, value = item.partition("=")
                params[key] = (
                    [*params[key], value]
                    if isinstance(params.get(key), list)
                    else ([params[key], value] if key in params else value)
                )
            document["cases"].append({"name": args.add, "params": params, "rows": []})
        for case in document["cases"]:
            if "error" in case:
                continue
            new = rows_of(stores["oxigraph"], name, case.get("params"))
            if rows_of(stores["memory"], name, case.get("params")) != new:
                print(f"{name} / {case['name']}: the memory store gives other rows; fix that first", file=sys.stderr)
                return 1
            show_changes(f"{name} / {case['name']}", case.get("rows") or [], new)
            case["rows"] = new
        if args.write:
            text = yaml.safe_dump(document, allow_unicode=True, width=110, sort_keys=False)
            path.write_text(header.format(name=name) + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
