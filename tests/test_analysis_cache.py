"""The on-disk copy of the networkx graph of an on-disk store (clinical_kg.analysis.cache): the copy is
the graph, the next command reads it, a copy of the store as it was before a load is never read, and a
damaged copy is passed over and replaced."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import networkx as nx
import pytest

from clinical_kg.analysis import cache, network
from clinical_kg.analysis.network import CKG, build_clinical_graph, clinical_graph
from clinical_kg.resources import vocabulary_file
from clinical_kg.store import load_store, open_store

FIXTURE = Path(__file__).parent / "fixtures" / "analysis" / "graph.ttl"
EX = "https://example.org/"
EXTRA = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX ex: <https://example.org/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
ex:epsilon a ckg:Condition ; skos:prefLabel "epsilon"@en ; ckg:hasSymptom ex:numbness .
ex:r14 a ckg:Assertion ; rdf:subject ex:epsilon ; rdf:predicate ckg:hasSymptom ; rdf:object ex:numbness ;
    ckg:source ex:text-two ; ckg:evidenceQuote "Epsilon makes you numb." .
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "clinical-kg"


@pytest.fixture
def store(tmp_path: Path, cache_home: Path) -> Path:
    path = tmp_path / "store"
    load_store(path, [vocabulary_file(), FIXTURE])
    return path


def as_data(graph: nx.MultiDiGraph) -> tuple[list, list]:
    return sorted(graph.nodes(data=True)), sorted(graph.edges(keys=True, data=True))


def refuse_to_build(kg: object) -> nx.MultiDiGraph:
    raise AssertionError("built from the store where the copy should have been read")


def test_the_copy_is_the_graph_and_the_next_command_reads_it(store: Path, cache_home: Path, monkeypatch) -> None:
    built = clinical_graph(open_store(store))
    assert [p.name for p in cache_home.iterdir()] == [cache.copy_path(store).name]
    monkeypatch.setattr(network, "build_clinical_graph", refuse_to_build)
    again = clinical_graph(open_store(store))
    assert again is not built and as_data(again) == as_data(built)
    record = again.edges[EX + "gamma", EX + "numbness", CKG + "hasSymptom"]["records"][0]
    assert (record.frequency, record.frequency_text, record.hedge) == (0.3, "3/10", "can")
    assert again.edges[EX + "beta", EX + "numbness", "not " + CKG + "hasSymptom"]["negated"] is True


def test_a_copy_of_the_store_before_a_load_is_never_read(store: Path, cache_home: Path, tmp_path: Path) -> None:
    before = clinical_graph(open_store(store))
    old_copy = cache.copy_path(store)
    extra = tmp_path / "extra.ttl"
    extra.write_text(EXTRA, encoding="utf-8")
    load_store(store, [vocabulary_file(), FIXTURE, extra])
    assert cache.copy_path(store) != old_copy and cache.load(store) is None
    after = clinical_graph(open_store(store))
    assert after.has_edge(EX + "epsilon", EX + "numbness", CKG + "hasSymptom")
    assert not before.has_edge(EX + "epsilon", EX + "numbness", CKG + "hasSymptom")
    assert [p.name for p in cache_home.iterdir()] == [cache.copy_path(store).name]  # the old copy is gone


def test_a_graph_changed_after_opening_is_built_again(store: Path, tmp_path: Path) -> None:
    kg = open_store(store, read_only=False)
    clinical_graph(kg)
    extra = tmp_path / "extra.ttl"
    extra.write_text(EXTRA, encoding="utf-8")
    kg.load([extra])
    assert clinical_graph(kg).has_edge(EX + "epsilon", EX + "numbness", CKG + "hasSymptom")


def _deflate_damaged(good: bytes) -> bytes:
    middle = len(good) // 2
    return good[:middle] + bytes(b ^ 0xFF for b in good[middle : middle + 64]) + good[middle + 64 :]


def _changed(good: bytes, **values: object) -> bytes:
    return gzip.compress(json.dumps({**json.loads(gzip.decompress(good)), **values}).encode())


DAMAGES = {
    "not gzip": lambda good: b"not a gzip file",
    "truncated": lambda good: good[: len(good) // 2],
    "damaged stream": _deflate_damaged,
    "not JSON": lambda good: gzip.compress(b"{nodes: ["),
    "JSON of another shape": lambda good: gzip.compress(json.dumps({"format": cache.FORMAT}).encode()),
    "an older format": lambda good: _changed(good, format=0),
    "wrong values": lambda good: _changed(good, edges=[[1]]),
    "an edge to a node it lacks": lambda good: _changed(good, nodes=[]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_copy_is_passed_over_and_replaced(store: Path, damage: str) -> None:
    built = clinical_graph(open_store(store))
    path = cache.copy_path(store)
    path.write_bytes(DAMAGES[damage](path.read_bytes()))
    assert cache.load(store) is None
    assert as_data(clinical_graph(open_store(store))) == as_data(built)
    assert as_data(cache.load(store)) == as_data(built)


def test_a_cache_folder_that_cannot_be_written_is_passed_over(store: Path, tmp_path: Path, monkeypatch) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    kg = open_store(store)
    assert as_data(clinical_graph(kg)) == as_data(build_clinical_graph(kg))
    assert blocked.read_text(encoding="utf-8") == ""
