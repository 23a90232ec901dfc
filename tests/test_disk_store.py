"""The on-disk Oxigraph store: bulk load, reopen, the same catalogue rows, named graphs, staleness, killed loads."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from clinical_kg import errors
from clinical_kg.catalogue import run_query
from clinical_kg.cli import main
from clinical_kg.errors import InputError
from clinical_kg.export import export
from clinical_kg.export.graph import load_graph
from clinical_kg.layout import layout
from clinical_kg.query_worker import Engine, WorkerConfig
from clinical_kg.resources import shipped_files
from clinical_kg.results import compact
from clinical_kg.store import BUILD_RECORD, ensure_store, from_oxigraph, load_parts, load_store, open_graph, open_store
from tests.conftest import ROOT, shipped
from tests.test_catalogue import load_cases, rows_of

SHIPPED_CASES = [(name, case) for name, case in load_cases() if "fixture" not in case]


@pytest.fixture(scope="module")
def disk_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("disk") / "store"
    assert load_store(path) == len(shipped("oxigraph"))
    return path


@pytest.mark.parametrize(("name", "case"), SHIPPED_CASES, ids=[f"{n}:{c['name']}" for n, c in SHIPPED_CASES])
def test_reopened_store_gives_the_rows_of_the_memory_store(disk_store: Path, name: str, case: dict) -> None:
    """The case's exact rows, in order, or its exact error: what tests/test_catalogue.py asks of both
    in-memory stores (the rdflib reference engine and Oxigraph), so the three answer alike."""
    kg = open_store(disk_store)
    params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"])) as caught:
            run_query(kg, name, params)
        assert str(caught.value) == case["message"].rstrip("\n")
        return
    assert rows_of(run_query(kg, name, params)) == case["rows"]


def test_reopening_a_store_reads_it_where_it_is(disk_store: Path) -> None:
    # How long it takes is a benchmark's (scripts/bench.py, reopen:disk): here, that nothing is loaded
    # again, so reopening costs the same whatever the store holds.
    record = (disk_store / BUILD_RECORD).stat().st_mtime_ns
    around = sorted(p.name for p in disk_store.parent.iterdir())
    kg = open_graph(store_path=disk_store)
    assert kg.path == disk_store and kg.query("ASK { ?s ?p ?o }").boolean
    assert (disk_store / BUILD_RECORD).stat().st_mtime_ns == record  # not rebuilt
    assert sorted(p.name for p in disk_store.parent.iterdir()) == around  # no new or partial folder


def test_formats_and_gzip_load_the_same_triples(tmp_path: Path) -> None:
    nt = shipped("oxigraph").graph.serialize(format="nt", encoding="utf-8")
    (tmp_path / "g.nt.gz").write_bytes(gzip.compress(nt))
    (tmp_path / "g.nq").write_bytes(nt.replace(b" .\n", b" <https://example.org/g> .\n"))
    seen: list[tuple[int, int]] = []
    gz = load_store(tmp_path / "a", [tmp_path / "g.nt.gz"], progress=lambda done, total: seen.append((done, total)))
    assert gz == load_store(tmp_path / "b", [tmp_path / "g.nq"]) == load_store(tmp_path / "c", shipped_files())
    assert seen[-1][0] == seen[-1][1] == (tmp_path / "g.nt.gz").stat().st_size


def test_cli_load_then_query(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["load", "--store-path", str(store)])
    assert result.exit_code == 0, result.output
    args = ["query", "conditions-causing-symptom", "-p", "symptom=radiating leg pain", "-f", "csv"]
    on_disk = CliRunner().invoke(main, [*args, "--store-path", str(store)])
    in_memory = CliRunner().invoke(main, args)
    assert on_disk.exit_code == 0 and on_disk.output == in_memory.output
    bad = CliRunner().invoke(main, ["load", str(ROOT / "README.md"), "--store-path", str(store)])
    assert bad.exit_code == 2 and "RDF format" in bad.output


_BIG_LOAD = """
import sys
from pathlib import Path
from clinical_kg.store import load_store
load_store(Path(sys.argv[1]), [Path(sys.argv[2])])
"""


def _folder_size(folder: Path) -> int:
    """Bytes in ``folder`` now (files the store deletes while we look are skipped)."""
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size if path.is_file() else 0
    return total


def _kill_when(worker: subprocess.Popen, state: str, reached: Callable[[int], object]) -> None:
    """SIGKILL the load ``worker`` as soon as ``reached(pid)`` holds: a state of the load, not a time (a load's
    speed depends on the machine's load: imports alone took over 1 s at load average 10)."""
    deadline = time.monotonic() + 120
    while not reached(worker.pid):
        assert worker.poll() is None, f"the load ended (status {worker.returncode}) before {state}"
        assert time.monotonic() < deadline, f"the load did not reach {state} within 120 s"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()


def test_a_killed_load_leaves_the_previous_store_usable(tmp_path: Path) -> None:
    store = tmp_path / "store"
    before = load_store(store)
    big = tmp_path / "big.nt"
    with big.open("w") as out:  # about 400k triples: several seconds of bulk loading
        for i in range(400_000):
            out.write(f'<https://example.org/s{i}> <https://example.org/p{i % 50}> "value {i}" .\n')

    def build_folders(pid: int) -> list[Path]:
        return list(tmp_path.glob(f".store.partial-{pid}-*"))

    # Killed once its build folder exists (nothing loaded yet), then once the bulk load is writing into it
    # (an empty store is about 200 kB; the first written batch takes it past 1 MB).
    for state, reached in (
        ("its build folder", lambda pid: build_folders(pid)),
        ("the bulk load", lambda pid: any(_folder_size(f) > 1_000_000 for f in build_folders(pid))),
    ):
        worker = subprocess.Popen([sys.executable, "-c", _BIG_LOAD, str(store), str(big)])
        _kill_when(worker, state, reached)
        assert len(open_store(store)) == before
    abandoned = [p.name for p in tmp_path.glob(".store.partial-*")]  # the first was removed by the second load
    assert len(abandoned) == 1 and abandoned[0].startswith(f".store.partial-{worker.pid}-")
    load_store(store)  # the next load removes the build folders of the killed ones
    assert list(tmp_path.glob(".store.partial-*")) == []
    aside = store.parent / f".{store.name}.old-test"  # killed between the two renames of the swap
    store.rename(aside)
    assert len(open_store(store)) == before


@pytest.mark.parametrize("fits", [True, False], ids=["copied into memory", "validated on disk"])
def test_validating_an_on_disk_store_reports_what_the_memory_store_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fits: bool
) -> None:
    import clinical_kg.store
    from clinical_kg import resources
    from clinical_kg.validation import validate_graph, validate_kg

    files = [resources.vocabulary_file(), ROOT / "tests/shapes/invalid/Assertion-evidenceQuote--blank.ttl"]
    load_store(tmp_path / "store", files)
    monkeypatch.setattr(clinical_kg.store, "fits_in_memory", lambda _path: fits)
    copies = []
    in_memory = clinical_kg.store.OxigraphKnowledgeGraph.in_memory
    monkeypatch.setattr(
        clinical_kg.store.OxigraphKnowledgeGraph, "in_memory", lambda kg: copies.append(kg) or in_memory(kg)
    )

    def pairs(report) -> set[tuple[str, str]]:
        return {(compact(p.shape), compact(p.focus)) for p in report.problems}

    expected = {("ckgsh:Assertion-evidenceQuote", "ckga:spasm-has-dull-ache")}
    assert pairs(validate_kg(open_store(tmp_path / "store"))) == pairs(
        validate_graph(open_graph("oxigraph", files).store)
    )
    assert pairs(validate_kg(open_store(tmp_path / "store"))) == expected
    assert len(copies) == (2 if fits else 0)
    result = CliRunner().invoke(main, ["validate", "--store-path", str(tmp_path / "store")])
    assert result.exit_code == 1 and "ckga:spasm-has-dull-ache" in result.output


# ---------------------------------------------------------------- named graphs, one layout


def graphs_of(store: ox.Store) -> dict[str, Graph]:
    """Every graph of a store as an rdflib Graph, by name ('' for the default graph)."""
    graphs: dict[str, Graph] = {}
    for quad in store:
        name = "" if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
        graph = graphs.setdefault(name, Graph())
        graph.add((from_oxigraph(quad.subject), from_oxigraph(quad.predicate), from_oxigraph(quad.object)))
    return graphs


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's N-Quads parser uses its own deprecated API
def test_ckg_load_names_the_graphs_as_the_server_and_the_nquads_export_do(disk_store: Path, tmp_path: Path) -> None:
    loaded = graphs_of(ox.Store.read_only(str(disk_store)))
    served = ox.Store()
    load_parts(served, layout())  # what an endpoint worker holds in memory
    assert set(graphs_of(served)) == set(loaded)
    export(load_graph(), "nquads", tmp_path / "kg.nq")
    exported = Dataset()
    exported.parse(tmp_path / "kg.nq", format="nquads")
    names = {str(g.identifier) for g in exported.graphs() if len(g)} - {"urn:x-rdflib:default"}
    assert names == set(loaded) - {""} and len(names) == len(shipped_files()) == 15
    for name in names:
        assert isomorphic(loaded[name], exported.graph(name)), name
    union = Graph()
    for name in names:
        union += loaded[name]
    assert isomorphic(loaded[""], union)  # the default graph holds every triple, once


def test_an_nquads_load_keeps_its_graph_names_and_the_server_can_pick_them(tmp_path: Path) -> None:
    (tmp_path / "g.nq").write_text(
        "<https://example.org/a> <https://example.org/p> <https://example.org/b> <https://example.org/g1> .\n"
        '<https://example.org/b> <https://example.org/p> "in the default graph" .\n',
        encoding="utf-8",
    )
    store = tmp_path / "store"
    assert load_store(store, [*shipped_files(), tmp_path / "g.nq"]) == len(shipped("oxigraph")) + 2
    graphs = graphs_of(ox.Store.read_only(str(store)))
    assert len(graphs["https://example.org/g1"]) == 1
    engine = Engine(WorkerConfig(store_path=str(store)))
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for default_graphs, expected in (
        (["https://example.org/g1"], 1),
        (
            ["https://w3id.org/clinical-kg/dataset/conditions"],
            len(graphs["https://w3id.org/clinical-kg/dataset/conditions"]),
        ),
    ):
        reply = engine.handle(
            {"op": "sparql", "query": count, "accept": "text/csv", "default_graphs": default_graphs, "named_graphs": []}
        )
        assert reply["status"] == 200, reply
        assert reply["body"].decode().split() == ["n", str(expected)]


# ---------------------------------------------------------------- a store knows what it was built from


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder)
    monkeypatch.setenv("CKG_DATA_DIR", str(folder))
    return folder


NEW_SYNONYM = 'ckgid:sciatica skos:altLabel "ischias"@en .\n'


def test_a_store_of_the_shipped_data_is_rebuilt_when_the_data_changed(data_copy: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert ensure_store(store) == "built"
    record = json.loads((store / BUILD_RECORD).read_text(encoding="utf-8"))
    assert len(record["files"]) == 15 and all(f["curated"] for f in record["files"])
    assert len(record["data_sha256"]) == 64 and record["data_dir"] == str(data_copy)
    assert ensure_store(store) == "current"
    ask = (
        'ASK { <https://w3id.org/clinical-kg/id/sciatica> <http://www.w3.org/2004/02/skos/core#altLabel> "ischias"@en }'
    )
    with (data_copy / "conditions.ttl").open("a", encoding="utf-8") as stream:
        stream.write(NEW_SYNONYM)
    assert open_graph(store_path=store).query(ask).boolean  # rebuilt on open, not served stale
    assert ensure_store(store) == "current"


def test_a_store_with_other_files_is_refused_when_the_data_changed(data_copy: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.nt"
    extra.write_text('<https://example.org/s> <https://example.org/p> "o" .\n', encoding="utf-8")
    store = tmp_path / "store"
    CliRunner().invoke(main, ["load", str(extra), "--store-path", str(store)], catch_exceptions=False)
    with (data_copy / "conditions.ttl").open("a", encoding="utf-8") as stream:
        stream.write(NEW_SYNONYM)
    with pytest.raises(InputError) as caught:
        open_graph(store_path=store)
    assert caught.value.message == f"{store} was built from other data than that in {data_copy} now"
    assert caught.value.hint == f"load it again: ckg load {extra.resolve()} --store-path {store}"
    result = CliRunner().invoke(main, ["stats", "--store-path", str(store)])
    assert result.exit_code == 2 and "built from other data than that in" in result.output
    (store / BUILD_RECORD).unlink()
    with pytest.raises(InputError, match="no readable build record"):
        open_graph(store_path=store)


def test_a_store_without_the_shipped_data_ignores_changes_to_it(data_copy: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.nt"
    extra.write_text('<https://example.org/s> <https://example.org/p> "o" .\n', encoding="utf-8")
    store = tmp_path / "store"
    assert load_store(store, [extra]) == 1
    with (data_copy / "conditions.ttl").open("a", encoding="utf-8") as stream:
        stream.write(NEW_SYNONYM)
    assert ensure_store(store) == "current"
