"""JSON-LD export, compacted with the project's published context (``ontology/context.jsonld``).

The context gives readable keys (``label``, ``synonyms``, ``hasSymptom``, ``subject`` /
``predicate`` / ``object``, ``quote``, ``hedge``, ``source``, ...) and prefixes (``ckgid:``,
``ckga:``, ...). The export embeds that context object inline rather than referring to it by
IRI, so that any JSON-LD processor reads the file back without fetching anything (a remote
context is a network call, and a ``file:`` one is refused by careful processors, this project's
``ckg validate`` included). The same object ships as ``context.jsonld`` in the package and in
every release, for applications that compact their own data with it or refer to it.

The document is built in expanded form from the sorted triples (nodes sorted by ``@id``, values
in N-Triples order) and compacted with pyld, the reference JSON-LD implementation; no document
loader is allowed to fetch anything while doing so.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.export import write_text
from clinical_kg.export.graph import triple_key, union_graph

CONTEXT_IRI = "https://w3id.org/clinical-kg/context.jsonld"


def context_file() -> Path:
    """The shipped JSON-LD context file."""
    return resources.ontology_dir() / "context.jsonld"


@cache
def _context_text() -> str:
    return context_file().read_text(encoding="utf-8")


def context() -> dict[str, Any]:
    """The shipped context document, ``{"@context": {...}}`` (a fresh copy)."""
    return json.loads(_context_text())


def no_remote_documents(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves the shipped context for its IRI and refuses anything else."""
    if url == CONTEXT_IRI:
        return {"contextUrl": None, "documentUrl": url, "document": context()}
    raise InputError(f"JSON-LD processing tried to load {url}: remote documents are not fetched")


def _id(term: Node) -> str:
    return f"_:{term}" if isinstance(term, BNode) else str(term)


def _value(term: Node) -> dict[str, Any]:
    if not isinstance(term, Literal):
        return {"@id": _id(term)}
    if term.language:
        return {"@value": str(term), "@language": term.language}
    if term.datatype == XSD.boolean and str(term) in ("true", "false"):
        return {"@value": str(term) == "true"}  # a native JSON boolean: same RDF literal
    if term.datatype is not None and term.datatype != XSD.string:
        return {"@value": str(term), "@type": str(term.datatype)}
    return {"@value": str(term)}


def expanded(graph: Graph) -> list[dict[str, Any]]:
    """The graph in JSON-LD expanded form: node objects sorted by ``@id``, values in triple order."""
    nodes: dict[Node, dict[str, Any]] = {}
    for s, p, o in sorted(union_graph(graph), key=triple_key):
        node = nodes.setdefault(s, {"@id": _id(s)})
        if p == RDF.type and isinstance(o, URIRef):
            node.setdefault("@type", []).append(str(o))
        else:
            node.setdefault(str(p), []).append(_value(o))
    return [nodes[s] for s in sorted(nodes, key=lambda term: (isinstance(term, BNode), _id(term)))]


# Keys first in every node object, in this order (the rest follow alphabetically): people read
# a record as subject, predicate, object, then its evidence.
KEY_ORDER = ("id", "type", "label", "synonyms", "definition", "subject", "predicate", "object", "negated", "quote",
             "hedge", "source", "attributedTo")  # fmt: skip


def _ordered(node: dict[str, Any]) -> dict[str, Any]:
    rank = {key: i for i, key in enumerate(KEY_ORDER)}
    return {key: node[key] for key in sorted(node, key=lambda key: (rank.get(key, len(rank)), key))}


def to_jsonld(graph: Graph) -> dict[str, Any]:
    """The graph as a compacted JSON-LD document with the context inline."""
    from pyld import jsonld

    document = jsonld.compact(
        expanded(graph), context(), {"documentLoader": no_remote_documents, "base": None, "compactArrays": True}
    )
    if "@graph" not in document:  # pyld puts a lone node at the top level
        ctx = document.pop("@context")
        document = {"@context": ctx, "@graph": [document] if document else []}
    document["@graph"] = [_ordered(node) for node in document["@graph"]]
    return document


def export_jsonld(graph: Graph, out: Path) -> list[Path]:
    """JSON-LD (compacted, the shipped context inline), 2-space indented UTF-8."""
    return [write_text(out, json.dumps(to_jsonld(graph), indent=2, ensure_ascii=False) + "\n")]
