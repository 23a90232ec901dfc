"""The project's prefix map, read from ``ontology/prefixes.ttl`` (the one place it is written)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from clinical_kg.resources import prefixes_file

if TYPE_CHECKING:
    from rdflib import Graph


@cache
def prefix_map() -> dict[str, str]:
    """Prefix to namespace IRI, sorted by prefix (ignoring case, so that HP: sits between dcterms: and owl:)."""
    parser = ox.parse(path=str(prefixes_file()), format=ox.RdfFormat.TURTLE)
    for _ in parser:  # the prefixes are known once the file is read
        pass
    pairs = ((prefix, namespace) for prefix, namespace in parser.prefixes.items() if prefix)
    return dict(sorted(pairs, key=lambda item: (item[0].casefold(), item[0])))


def bind_prefixes(graph: Graph) -> Graph:
    """Bind exactly the project's prefixes on ``graph`` (replacing rdflib's defaults) and return it."""
    from rdflib import Namespace

    for prefix, namespace in prefix_map().items():
        graph.bind(prefix, Namespace(namespace), override=True, replace=True)
    return graph


@cache
def _longest_first() -> list[tuple[str, str]]:
    """The prefix map's pairs, longest namespace first (sorted once, not on every :func:`curie`)."""
    return sorted(prefix_map().items(), key=lambda item: -len(item[1]))


def curie(iri: str) -> str | None:
    """The CURIE of an IRI in one of the project's namespaces (the longest that fits), or None."""
    for prefix, namespace in _longest_first():
        if iri.startswith(namespace) and iri != namespace:
            return f"{prefix}:{iri[len(namespace) :]}"
    return None
