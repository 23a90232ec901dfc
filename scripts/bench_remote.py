"""Time the shipped graph on external SPARQL servers against the embedded store, in one run.

For the embedded Oxigraph store, ``oxigraph serve`` and Virtuoso (each started on free loopback
ports in a throw-away folder by ``tests/sparql_servers.py``, as the tests do): the time to load the
shipped graph (``open_graph`` for the embedded store, ``ckg load --endpoint``'s code for the
servers), the time of the headline query (first run, then the median of the next runs), and
whether every catalogue case gives the embedded store's rows, in order, term for term.

Run from the checkout: ``python scripts/bench_remote.py [--runs N]``. A server that is not
installed is reported as such.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinical_kg.catalogue import run_query  # noqa: E402
from clinical_kg.remote import SparqlKnowledgeGraph, configure  # noqa: E402
from clinical_kg.remote.load import load_endpoint  # noqa: E402
from clinical_kg.resources import shipped_files  # noqa: E402
from clinical_kg.store import KnowledgeGraph, open_graph  # noqa: E402
from clinical_kg.terms import TermIndex  # noqa: E402
from tests.sparql_servers import missing, oxigraph_server, virtuoso_server  # noqa: E402
from tests.test_catalogue import load_cases  # noqa: E402

HEADLINE = ("conditions-causing-symptom", {"symptom": ["radiating leg pain"]})


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(name: str, load: Callable[[], KnowledgeGraph], runs: int, embedded: KnowledgeGraph | None) -> dict:
    """Load times, headline times and the catalogue comparison for one store."""
    loads, kg = [], None
    for _ in range(runs):
        start = time.perf_counter()
        kg = load()
        loads.append(time.perf_counter() - start)
    assert kg is not None
    index = TermIndex(kg)
    first = _seconds(lambda: run_query(kg, *HEADLINE, index=index))
    warm = [_seconds(lambda: run_query(kg, *HEADLINE, index=index)) for _ in range(runs)]
    rows = len(run_query(kg, *HEADLINE, index=index).rows)
    same = total = 0
    if embedded is not None:
        reference = TermIndex(embedded)
        for query, case in load_cases():
            if "fixture" in case:
                continue
            params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
            total += 1
            try:
                expected = run_query(embedded, query, params, index=reference)
            except Exception as exc:  # an error case: the same error
                try:
                    run_query(kg, query, params, index=index)
                except Exception as other:
                    same += type(other) is type(exc) and str(other) == str(exc)
                continue
            found = run_query(kg, query, params, index=index)
            same += found.variables == expected.variables and found.rows == expected.rows
    return {"store": name, "load": statistics.median(loads), "first": first, "headline": statistics.median(warm),
            "rows": rows, "same": same, "total": total}  # fmt: skip


def main() -> None:
    """Measure every store and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="loads and warm headline runs per store")
    runs = parser.parse_args().runs
    embedded = open_graph()
    results = [measure("embedded Oxigraph (in memory)", open_graph, runs, None)]
    for server, start in (("oxigraph serve 0.5.13", oxigraph_server), ("Virtuoso 7.2.5", virtuoso_server)):
        reason = missing(server.split()[0].lower())
        if reason:
            print(f"{server}: skipped ({reason})", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as folder, start(Path(folder)) as running:
            endpoint = configure(*running.options[1::2], environ={**os.environ, **running.env})

            def load(endpoint=endpoint) -> KnowledgeGraph:
                load_endpoint(endpoint, shipped_files())
                return SparqlKnowledgeGraph(endpoint)

            results.append(measure(server, load, runs, embedded))
    print("| store | load the shipped graph | headline, first | headline, median | rows | catalogue cases identical |")
    print("|---|---|---|---|---|---|")
    for r in results:
        same = f"{r['same']} of {r['total']}" if r["total"] else "(the reference)"
        print(f"| {r['store']} | {r['load'] * 1000:.0f} ms | {r['first'] * 1000:.0f} ms | "
              f"{r['headline'] * 1000:.1f} ms | {r['rows']} | {same} |")  # fmt: skip
    print(f"\n{runs} runs each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
