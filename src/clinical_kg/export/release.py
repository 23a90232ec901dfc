"""Releases: every export format in one folder, with a manifest and a list of changes.

``make_release(out)`` writes ``out/clinical-kg-<version>/`` (the version is the last segment of
the vocabulary's ``owl:versionIRI``):

- one file or folder per registered format (:data:`clinical_kg.export.FORMATS`) and the JSON-LD
  context ``context.jsonld``;
- ``CHANGES.md``: the assertion records added, retracted or changed since the previous release,
  found by a triple-level diff of the two releases' N-Triples files;
- ``manifest.json``: name, version, version IRI, date, counts by class and relation (as
  ``ckg stats``), every other file with its size and SHA-256 (paths relative to the folder), the
  sources with their checksums, the SHACL validation result, the changes, and the KGX export's
  Biolink domain and range advisories (edges whose categories lie outside what Biolink suggests
  for their predicate, as ``kgx/metadata.json`` lists them);
- with ``include`` (``--include hpo``): ``<name>.nq``, the graphs that import wrote into the store
  at ``store_path`` (each in its named graph), and in the manifest under ``imported`` each graph's
  title, release, licence, source file and checksum, and number of triples
  (:mod:`clinical_kg.export.imported`). The other files hold the curated graph only.

The same graph and date give the same bytes: the date comes from ``date=``, else
``SOURCE_DATE_EPOCH``, else today (UTC). The folder is written under a temporary name and
renamed when complete; an existing release folder is replaced only with ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rdflib import DCTERMS, OWL, RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg import __version__
from clinical_kg.errors import InputError
from clinical_kg.export import FORMATS, export, write_text
from clinical_kg.export.graph import load_graph, union_graph
from clinical_kg.export.jsonld import context_file
from clinical_kg.export.kgx import METADATA
from clinical_kg.export.model import curie
from clinical_kg.vocab import CKG

NAME = "clinical-kg"
MANIFEST = "manifest.json"
CHANGES = "CHANGES.md"
NTRIPLES = FORMATS["ntriples"].default_name  # what the next release diffs against
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Release:
    """A written release: its folder and manifest."""

    folder: Path
    manifest: dict[str, Any]


def ontology_version(graph: Graph) -> tuple[URIRef, str, str]:
    """The vocabulary's ontology IRI, its version IRI and the version (the IRI's last segment, ``0.1.0``)."""
    for ontology in sorted(graph.subjects(RDF.type, OWL.Ontology), key=str):
        version_iri = graph.value(ontology, OWL.versionIRI)
        if version_iri is not None:
            version = str(version_iri).rstrip("/").rsplit("/", 1)[-1]
            if version:
                return ontology, str(version_iri), version
    raise InputError(
        "the vocabulary has no owl:versionIRI, so the release has no version",
        hint="add owl:versionIRI <https://w3id.org/clinical-kg/vocab/X.Y.Z/> to ontology/clinical-kg.ttl",
    )


def release_date(value: str | None = None) -> str:
    """``value`` (YYYY-MM-DD), else the UTC date of ``SOURCE_DATE_EPOCH``, else today's UTC date."""
    if value is not None:
        try:
            if not _DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise InputError(f"--date {value!r} is not a date", hint="write it as YYYY-MM-DD") from None
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
    return datetime.now(UTC).date().isoformat()


def sha256_file(path: Path) -> str:
    """The hexadecimal SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_list(folder: Path) -> list[dict[str, Any]]:
    """Every file under ``folder`` but the manifest: relative POSIX path, size and SHA-256, sorted by path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST)
    return [
        {"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files
    ]


# --- what changed since the previous release ---------------------------------------------------


def find_previous(out: Path, exclude: Path) -> Path | None:
    """The newest release folder in ``out`` other than ``exclude`` (by manifest date, then version)."""
    candidates = []
    for folder in out.glob(f"{NAME}-*"):
        if folder.resolve() == exclude.resolve() or not (folder / MANIFEST).is_file():
            continue
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        version = tuple(int(n) if n.isdigit() else 0 for n in str(manifest.get("version", "")).split("."))
        candidates.append((str(manifest.get("date", "")), version, folder.name, folder))
    return max(candidates)[3] if candidates else None


def _records(graph: Graph, kind: URIRef) -> set[Node]:
    return set(graph.subjects(RDF.type, kind))


def diff_releases(previous: Graph, current: Graph) -> dict[str, list[str]]:
    """Records added, retracted and changed between two release graphs (IRIs, sorted).

    Added: current records (``ckg:Assertion``) that were not current before. Retracted: records
    that were current and are gone or now typed ``ckg:RetractedAssertion``. Changed: records
    current in both whose triples differ (a hedge or qualifier edited).
    """
    before, after = _records(previous, CKG.Assertion), _records(current, CKG.Assertion)
    changed = [
        record
        for record in before & after
        if set(previous.predicate_objects(record)) != set(current.predicate_objects(record))
    ]
    return {
        "added": sorted(str(r) for r in after - before),
        "retracted": sorted(str(r) for r in before - after),
        "changed": sorted(str(r) for r in changed),
    }


def _read_ntriples(path: Path) -> tuple[Graph, set[str]]:
    text = path.read_text(encoding="utf-8")
    return Graph().parse(data=text, format="nt"), {line for line in text.splitlines() if line.strip()}


def _describe(record: URIRef, graphs: list[Graph]) -> str:
    """One line for CHANGES.md: the statement in labels, its hedge, quote and (if any) retraction reason."""

    def value(node: Node | None, prop: URIRef) -> Node | None:
        return next((v for g in graphs if node is not None and (v := g.value(node, prop)) is not None), None)

    def label(term: Node | None) -> str:
        if isinstance(term, Literal):
            return f'"{term}"'
        found = value(term, SKOS.prefLabel) or value(term, RDFS.label)
        return str(found) if found is not None else curie(term)

    negated = value(record, CKG.negated)
    relation = ("not " if isinstance(negated, Literal) and negated.toPython() is True else "") + label(
        value(record, RDF.predicate)
    )
    text = f"`{curie(record)}` {label(value(record, RDF.subject))} *{relation}* {label(value(record, RDF.object))}"
    if (hedge := value(record, CKG.hedge)) is not None:
        text += f" ({hedge})"
    if (quote := value(record, CKG.evidenceQuote)) is not None:
        text += f': "{quote}"'
    if (reason := value(record, CKG.retractionReason)) is not None:
        text += f" Reason for the retraction: {reason}"
    return text


def changes_markdown(
    version: str, day: str, changes: dict[str, Any], previous: Graph | None, current: Graph, assertions: int
) -> str:
    """The human list of changes."""
    lines = [
        f"# {NAME} {version} ({day})",
        "",
        "<!-- generated by `ckg release`, do not edit -->",
        "",
    ]
    if changes["previous"] is None:
        lines += [f"First release: no previous release to compare with. It holds {assertions} assertion records.", ""]
        return "\n".join(lines)
    added, retracted, changed = changes["added"], changes["retracted"], changes["changed"]
    lines += [
        f"Changes since {NAME} {changes['previous']} ({changes['previous_date']}): "
        f"{len(added)} assertion record{'s' if len(added) != 1 else ''} added, {len(retracted)} retracted, "
        f"{len(changed)} changed; {changes['triples_added']} triples added, {changes['triples_removed']} removed.",
        "",
    ]
    graphs = [current] + ([previous] if previous is not None else [])
    for title, records in (("Added", added), ("Retracted", retracted), ("Changed", changed)):
        lines += [f"## {title} ({len(records)})", ""]
        lines += [f"- {_describe(URIRef(r), graphs)}" for r in records] or ["None."]
        lines.append("")
    return "\n".join(lines)


# --- the release -------------------------------------------------------------------------------


def _counts(graph: Graph) -> dict[str, Any]:
    from clinical_kg.analysis import statistics
    from clinical_kg.store import MemoryKnowledgeGraph

    kg = MemoryKnowledgeGraph()
    for triple in graph:
        kg.graph.add(triple)
    figures = statistics(kg)
    keys = ("triples", "entities_by_class", "statements_by_relation", "assertions", "sources")
    return {key: figures[key] for key in keys}


def _sources(graph: Graph) -> list[dict[str, Any]]:
    def text(node: Node, prop: URIRef) -> str | None:
        values = sorted(str(v) for v in graph.objects(node, prop))
        return values[0] if values else None

    return [
        {
            "iri": str(source),
            "title": text(source, DCTERMS.title),
            "date": text(source, DCTERMS.date),
            "sha256": text(source, CKG.sha256),
            "file_name": text(source, CKG.fileName),
        }
        for source in sorted(graph.subjects(RDF.type, CKG.SourceDocument), key=str)
    ]


def _validation(graph: Graph) -> dict[str, Any]:
    from clinical_kg.validation import validate_graph

    report = validate_graph(graph)
    severities = [p.severity_name for p in report.problems]
    return {
        "conforms": report.conforms,
        "violations": severities.count("Violation"),
        "warnings": severities.count("Warning"),
        "infos": severities.count("Info"),
    }


def _kgx_advisories(folder: Path) -> dict[str, Any]:
    metadata = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    advisories = metadata["domain_range_advisories"]
    return {
        "biolink_model": metadata["target_data_model_version"],
        "edges_outside_domain_or_range": sum(len(a["edges"]) for a in advisories),
        "domain_range_advisories": advisories,
    }


def _write_imported(staging: Path, store_path: Path | None, include: tuple[str, ...]) -> list[dict[str, object]]:
    """``<name>.nq`` for each import in ``include``, and what the manifest says of its graphs."""
    if not include:
        return []
    from clinical_kg.export.imported import imported_graphs, write_graphs
    from clinical_kg.store import open_store

    if store_path is None:
        raise InputError("--include reads the imported graphs from an on-disk store", hint="add --store-path DIR")
    store = open_store(store_path).store
    found: list[dict[str, object]] = []
    for name in dict.fromkeys(include):
        graphs = imported_graphs(store, [name])
        with open(staging / f"{name}.nq", "wb") as stream:
            counts = write_graphs(store, graphs, "nquads", stream)
        found += [dict(graph.manifest(counts[graph.graph]), file=f"{name}.nq") for graph in graphs]
    return found


def make_release(
    out: Path,
    *,
    previous: Path | None = None,
    day: str | None = None,
    force: bool = False,
    files: list[Path] | None = None,
    store_path: Path | None = None,
    include: tuple[str, ...] = (),
) -> Release:
    """Write a release folder of the shipped graph (or ``files``) into ``out`` and return it; with
    ``include``, also the graphs of those imports from the on-disk store at ``store_path``."""
    day = release_date(day)
    dataset = load_graph(files)
    graph = union_graph(dataset)
    ontology, version_iri, version = ontology_version(graph)
    out = Path(out)
    folder = out / f"{NAME}-{version}"
    if folder.exists() and not force:
        raise InputError(
            f"{folder} exists already",
            hint="pass --force to replace it, or raise the version (owl:versionIRI in ontology/clinical-kg.ttl)",
        )
    if previous is not None:
        if not (Path(previous) / NTRIPLES).is_file() or not (Path(previous) / MANIFEST).is_file():
            raise InputError(
                f"--previous {previous} is not a release folder",
                hint=f"give a folder written by `ckg release` (it holds {MANIFEST} and {NTRIPLES})",
            )
    else:
        previous = find_previous(out, exclude=folder) if out.is_dir() else None

    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=out))
    try:
        for name, entry in FORMATS.items():
            export(dataset, name, staging / entry.default_name.rstrip("/"))
        shutil.copyfile(context_file(), staging / "context.jsonld")
        imported = _write_imported(staging, store_path, include)

        counts = _counts(graph)
        changes: dict[str, Any] = {"previous": None, "previous_date": None}
        previous_graph = None
        if previous is not None:
            previous_manifest = json.loads((Path(previous) / MANIFEST).read_text(encoding="utf-8"))
            previous_graph, previous_lines = _read_ntriples(Path(previous) / NTRIPLES)
            current_lines = {line for line in (staging / NTRIPLES).read_text(encoding="utf-8").splitlines() if line}
            changes = {
                "previous": previous_manifest.get("version"),
                "previous_date": previous_manifest.get("date"),
                "triples_added": len(current_lines - previous_lines),
                "triples_removed": len(previous_lines - current_lines),
                **diff_releases(previous_graph, graph),
            }
        else:
            changes.update(triples_added=None, triples_removed=None, added=[], retracted=[], changed=[])
        write_text(
            staging / CHANGES,
            changes_markdown(version, day, changes, previous_graph, graph, counts["assertions"]),
        )
        manifest = {
            "name": NAME,
            "version": version,
            "version_iri": version_iri,
            "date": day,
            "generator": f"ckg release (clinical-kg {__version__})",
            "license": str(graph.value(ontology, DCTERMS.license) or ""),
            "counts": counts,
            "files": file_list(staging),
            "sources": _sources(graph),
            "validation": _validation(graph),
            "changes": changes,
            "kgx": _kgx_advisories(staging / FORMATS["kgx"].default_name),
        }
        if include:
            manifest["imported"] = imported
        write_text(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        os.chmod(staging, 0o755)
        if folder.exists():  # force: swap the old folder out, then remove it
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=out))
            os.replace(folder, old / folder.name)
            os.replace(staging, folder)
            shutil.rmtree(old)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Release(folder, manifest)
