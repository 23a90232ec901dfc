"""Shared fixtures: the shipped graph loaded once per store, and paths to the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinical_kg.store import STORES, KnowledgeGraph, open_graph
from clinical_kg.terms import TermIndex

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "sources"
SOURCE_TEXT = SOURCES / "how-to-help-muscle-spasms-in-lower-back.txt"

_graphs: dict[str, KnowledgeGraph] = {}
_indexes: dict[str, TermIndex] = {}


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
