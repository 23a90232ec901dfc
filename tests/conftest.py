"""Shared fixtures: the shipped graph loaded once per store, and paths to the real files.

The tests run in parallel (pytest-xdist, ``-n auto --dist loadfile`` in pyproject.toml): each test file runs
on one worker, so a module fixture (a server) is made once, but two files may run at the same time. So each
test must be safe beside any other: ports from :func:`tests.endpoint.free_port` (servers started with
:func:`tests.endpoint.start_listening`), files in ``tmp_path``, nothing written into the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clinical_kg.store import STORES, KnowledgeGraph, open_graph
from clinical_kg.terms import TermIndex

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "sources"
SOURCE_TEXT = SOURCES / "how-to-help-muscle-spasms-in-lower-back.txt"

HPO_FIXTURE = ROOT / "tests" / "fixtures" / "hpo"

_graphs: dict[str, KnowledgeGraph] = {}
_indexes: dict[str, TermIndex] = {}


def with_hpo_fixture(store: str, folder: Path) -> KnowledgeGraph:
    """The shipped graph with the HPO fixture (tests/fixtures/hpo) imported.

    On Oxigraph, as users get it: ``ckg import hpo --annotations`` into an on-disk store built in
    ``folder``. On rdflib, the shipped files and the graphs that import must give
    (``expected-hpo.ttl``, ``expected-hpoa.ttl``, checked by tests/test_import_hpo.py).
    """
    from clinical_kg.resources import curated_files

    if store == "oxigraph":
        from clinical_kg.imports.hpo import import_hpo
        from clinical_kg.store import load_store, open_store

        path = Path(folder) / "kg"
        load_store(path, curated_files())
        import_hpo(path, annotations=True, obo=HPO_FIXTURE / "hp.obo", hpoa=HPO_FIXTURE / "phenotype.hpoa")
        return open_store(path)
    kg = STORES[store]()
    kg.load([*curated_files(), HPO_FIXTURE / "expected-hpo.ttl", HPO_FIXTURE / "expected-hpoa.ttl"])
    return kg


def shipped(store: str) -> KnowledgeGraph:
    """The shipped graph in the named store, loaded once per test session."""
    if store not in _graphs:
        _graphs[store] = open_graph(store)
    return _graphs[store]


def index_for(kg: KnowledgeGraph) -> TermIndex:
    """The label index of a shipped graph, built once per store."""
    if kg.store_name not in _indexes:
        _indexes[kg.store_name] = TermIndex(kg)
    return _indexes[kg.store_name]


@pytest.fixture(scope="session", autouse=True)
def cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory):
    """The analyses' on-disk copies (clinical_kg.analysis.cache) go to a folder of the test session,
    never to the user's cache folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(params=sorted(STORES))
def kg(request: pytest.FixtureRequest) -> KnowledgeGraph:
    """The shipped graph, once on every store."""
    return shipped(request.param)


@pytest.fixture
def oxigraph_kg() -> KnowledgeGraph:
    """The shipped graph on the default store."""
    return shipped("oxigraph")


@pytest.fixture(scope="session")
def term_index() -> TermIndex:
    """The label index of the shipped graph."""
    return index_for(shipped("oxigraph"))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per test session (about 5 s)."""
    folder = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w"]
    completed = subprocess.run([*command, str(folder)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    (built,) = folder.glob("clinical_kg-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the wheel is installed into, as site-packages would hold it (its dependencies are
    this environment's): put it first on PYTHONPATH to run the installed package."""
    target = tmp_path_factory.mktemp("site-packages")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target)]
    completed = subprocess.run([*command, str(wheel)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return target
