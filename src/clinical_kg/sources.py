"""Naming the sources a catalogue answer may be limited to (the ``source`` parameter).

A source is a ``ckg:SourceDocument`` (the curated article) or a ``ckg:DatabaseRelease`` (an
imported file, such as the HPO annotations of 2025-01-16), and a release is a version of a
series (``dcterms:isVersionOf ckgsrc:hpoa``). A user names them by:

- the IRI or CURIE of a source or of a series (``ckgsrc:hpoa``, ``ckgsrc:hpoa-2025-01-16``);
- the name of a series (``hpoa``, ``hpo``): every release of it;
- ``curated``: every source that is not a database release (the curated articles);
- a source's title, or words of it (``"HPO annotations"``), when they name one source.

:func:`resolve_sources` gives the sources themselves (a series stands for its releases), and
a catalogue query keeps the rows whose records' ``ckg:source`` is one of them: its optional
``source`` parameter fills the ``VALUES ?source`` blocks (``?source1``, ... for each link of a
chain) next to the patterns that read a record's source; left out, the blocks are dropped.
"""

from __future__ import annotations

import re

from rdflib import URIRef

from clinical_kg.errors import UnknownTermError
from clinical_kg.namespaces import prefix_map
from clinical_kg.store import KnowledgeGraph

CURATED = "curated"
_SOURCES_QUERY = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?source ?title ?series ?release WHERE {
  ?class rdfs:subClassOf* ckg:SourceDocument .
  ?source a ?class .
  OPTIONAL { ?source dcterms:title ?title }
  OPTIONAL { ?source dcterms:isVersionOf ?series }
  BIND (EXISTS { ?source a ckg:DatabaseRelease } AS ?release)
}
"""
_CURIE = re.compile(r"^([A-Za-z][\w.-]*):(\S+)$")


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def resolve_sources(kg: KnowledgeGraph, text: str, parameter: str = "source") -> list[URIRef]:
    """The sources that ``text`` names (every release of a series), sorted, or an UnknownTermError
    listing the choices."""
    rows = kg.query_trusted(_SOURCES_QUERY).rows
    versions: dict[URIRef, list[URIRef]] = {}
    for row in rows:
        if row[2] is not None:
            versions.setdefault(URIRef(str(row[2])), []).append(URIRef(str(row[0])))

    def releases(found: list[URIRef]) -> list[URIRef]:
        return sorted({source for s in found for source in versions.get(s, [s])}, key=str)

    return releases(_named(rows, text, parameter))


def _named(rows: list, text: str, parameter: str) -> list[URIRef]:
    """The source or series IRIs that ``text`` names."""
    sources = {URIRef(str(row[0])) for row in rows}
    series = {URIRef(str(row[2])) for row in rows if row[2] is not None}
    wanted = text.strip().removeprefix("<").removesuffix(">")
    if (curie := _CURIE.match(wanted)) and curie.group(1) in prefix_map():
        wanted = prefix_map()[curie.group(1)] + curie.group(2)
    if URIRef(wanted) in sources | series:
        return [URIRef(wanted)]
    key = _folded(text)
    if key == CURATED:
        found = sorted({URIRef(str(row[0])) for row in rows if str(row[3]) != "true"}, key=str)
        if found:
            return found
    by_name = [s for s in series if str(s).rsplit("/", 1)[-1].casefold() == key]
    if by_name:
        return by_name
    titles = {URIRef(str(row[0])): _folded(str(row[1])) for row in rows if row[1] is not None}
    exact = sorted((s for s, title in titles.items() if title == key), key=str)
    partial = sorted((s for s, title in titles.items() if key and key in title), key=str)
    if exact or len(partial) == 1:
        return exact or partial
    names = sorted({str(s).rsplit("/", 1)[-1] for s in series})
    hint = f"name {CURATED}, {', '.join(names) + ', ' if names else ''}or a source's IRI, CURIE or title"
    if len(partial) > 1:
        hint = f"several titles hold {text!r}: give one of " + ", ".join(str(s) for s in partial)
    raise UnknownTermError(f"{parameter}={text!r} names no source of the graph", hint=hint)
