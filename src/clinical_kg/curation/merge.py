"""Merging a conforming candidate into the data files, and retracting assertion records.

:func:`add_candidate` merges a conforming candidate into the data files under a lock, through
a crash-safe transaction (:mod:`clinical_kg.transaction`); :func:`retract_assertion` keeps a
withdrawn record with its reason. Each change is recorded in the data folder's changelog.
"""

from __future__ import annotations

import getpass
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.canonical import canonical_turtle
from clinical_kg.curation.checks import CandidateReport, validate_candidate
from clinical_kg.errors import InputError
from clinical_kg.ingest import check_text
from clinical_kg.results import compact
from clinical_kg.transaction import DEFAULT_LOCK_TIMEOUT, DataTransaction, ensure_consistent, read_regular
from clinical_kg.vocab import CKG

CHANGELOG = "changelog.jsonl"

# Where new triples go: entity files by class, assertion files by the record's predicate.
ENTITY_FILES = {
    CKG.Condition: "conditions.ttl",
    CKG.Symptom: "symptoms.ttl",
    CKG.Cause: "causes.ttl",
    CKG.Medication: "treatments.ttl",
    CKG.Procedure: "treatments.ttl",
    CKG.PhysicalTherapy: "treatments.ttl",
    CKG.SelfCare: "treatments.ttl",
    CKG.LifestyleChange: "treatments.ttl",
    CKG.DiagnosticTest: "diagnostics.ttl",
    CKG.AnatomicalLocation: "anatomy.ttl",
    CKG.SourceDocument: "sources.ttl",
    CKG.Agent: "sources.ttl",
}
ASSERTION_FILES = {
    **dict.fromkeys((CKG.causes, CKG.contributesTo, CKG.aggravates, CKG.riskFactorFor), "assertions-causation.ttl"),
    **dict.fromkeys((CKG.hasSymptom, CKG.locatedIn, CKG.radiatesTo), "assertions-presentation.ttl"),
    **dict.fromkeys(
        (
            CKG.treats,
            CKG.relievesSymptomsOf,
            CKG.treatsCauseOf,
            CKG.hasAdverseEffect,
            CKG.noMoreEffectiveThan,
            CKG.diagnoses,
            CKG.assesses,
        ),
        "assertions-treatment.ttl",
    ),
    CKG.prevents: "assertions-prevention.ttl",
    CKG.redFlagFor: "assertions-red-flags.ttl",
    **dict.fromkeys(
        (
            CKG.prevalence,
            CKG.sexRatio,
            CKG.typicalAgeOfOnset,
            CKG.mostOftenAffects,
            CKG.typicalDuration,
            CKG.onset,
            CKG.severity,
        ),
        "assertions-epidemiology.ttl",
    ),
}
CLINICAL_PREDICATES = frozenset(ASSERTION_FILES)


@dataclass
class MergeResult:
    """What a merge added (or would add, for a dry run), by data file."""

    report: CandidateReport
    added: dict[str, Graph] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def triples(self) -> int:
        """How many triples were (or would be) added."""
        return sum(len(g) for g in self.added.values())

    def count(self, cls: URIRef) -> int:
        """How many new subjects of the class were (or would be) added."""
        return len({s for g in self.added.values() for s in g.subjects(RDF.type, cls)})

    def entities(self) -> int:
        """How many new entities (anything typed but an assertion record) were (or would be) added."""
        return len({s for g in self.added.values() for s, o in g.subject_objects(RDF.type) if o != CKG.Assertion})


def plan_merge(candidate: Graph, files: dict[str, Graph]) -> dict[str, Graph]:
    """The new triples of ``candidate``, routed to the data file where each belongs.

    Plain clinical triples and assertion records go to the assertion file of their predicate;
    triples about a subject that already lives in a file go to that file; new entities go to
    the file of their class. Triples already in the data are left out.
    """
    existing = Graph()
    home: dict[Node, str] = {}
    for name, graph in files.items():
        for triple in graph:
            existing.add(triple)
        for subject in graph.subjects(RDF.type, None):
            home.setdefault(subject, name)
    both = existing + candidate
    added: dict[str, Graph] = defaultdict(Graph)
    for s, p, o in sorted(candidate - existing, key=str):
        record_predicate = both.value(s, RDF.predicate) if (s, RDF.type, CKG.Assertion) in both else None
        classes = [c for c in both.objects(s, RDF.type) if c in ENTITY_FILES]
        if p in CLINICAL_PREDICATES:
            target = ASSERTION_FILES[p]
        elif record_predicate is not None:
            target = ASSERTION_FILES.get(record_predicate)
        elif s in home:
            target = home[s]
        elif classes:
            target = ENTITY_FILES[sorted(classes)[0]]
        else:
            target = None
        if target is None or target not in files:
            raise InputError(
                f"cannot place the triple {compact(s)} {compact(p)} {compact(o)} in a data file",
                hint="give the subject a class of the vocabulary, or check the record's rdf:predicate",
            )
        added[target].add((s, p, o))
    return dict(added)


def refuse_installed_copy(data_dir: Path, command: str) -> None:
    """Refuse to write into the data installed with the package: the edit would be out of sight
    of version control, and gone at the next reinstall."""
    if resources.is_installed_copy(data_dir):
        raise InputError(
            f"{command} would change the installed copy of the data in {data_dir}, which a reinstall replaces",
            hint="run it inside your clinical-kg checkout (it changes that checkout's data/), or name the data "
            "folder to change with --data-dir DIR or CKG_DATA_DIR",
        )


def _parse_data_file(folder: Path, name: str, data: bytes | None) -> Graph:
    """A curated data file's triples; one InputError naming it if it cannot be read as Turtle."""
    path = folder / name
    try:
        return Graph().parse(data=(data or b"").decode("utf-8"), format="turtle")
    except Exception as exc:  # rdflib raises assorted types on a broken file
        raise InputError(f"{path}: the curated data file does not parse: {exc}",
                         hint="fix or restore it (git diff, git checkout) before adding") from None  # fmt: skip


def _check_and_plan(
    path: Path, data_dir: Path, files: dict[str, Graph], sources_dir: Path | None, dry_run: bool = False
) -> MergeResult:
    """Validate the candidate at ``path`` against ``files`` and, if it conforms, plan where its new triples go."""
    from clinical_kg.ingest import read_candidate

    candidate = read_candidate(path)
    data = Graph()
    for graph in files.values():
        data += graph
    report = validate_candidate(
        candidate, data, file=str(path), sources_dir=sources_dir, data_dir=data_dir, source_missing="Violation"
    )
    result = MergeResult(report, dry_run=dry_run)
    if report.conforms:
        result.added = plan_merge(candidate, files)
    return result


def add_candidate(
    path: Path,
    data_dir: Path,
    *,
    dry_run: bool = False,
    sources_dir: Path | None = None,
    curator: str | None = None,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> MergeResult:
    """Validate ``path`` against the data in ``data_dir`` and, if it conforms, merge it.

    The whole read-validate-merge-write runs under the data folder's exclusive lock, and the
    files are written through a crash-safe transaction. Nothing is written for a dry run, a
    candidate with violations (a quote whose source text is not found in ``sources_dir`` is
    one), or a candidate whose triples are all in the data already. The installed copy of the
    data is refused (:func:`refuse_installed_copy`).
    """
    if dry_run:  # reads only: no lock, nothing created in the data folder
        ensure_consistent(data_dir)
        files = {p.name: _parse_data_file(data_dir, p.name, read_regular(p)) for p in resources.data_files(data_dir)}
        return _check_and_plan(path, data_dir, files, sources_dir, dry_run=True)
    refuse_installed_copy(data_dir, "ckg add")
    with DataTransaction(data_dir, lock_timeout, on_wait) as tx:
        files = {name: _parse_data_file(data_dir, name, tx.read_bytes(name)) for name in tx.data_files()}
        result = _check_and_plan(path, data_dir, files, sources_dir)
        if not result.report.conforms or not result.added:
            return result
        for name, graph in result.added.items():
            tx.write_text(name, canonical_turtle(files[name] + graph))
        entry = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": curator or getpass.getuser(),
            "action": "add",
            "file": Path(path).name,
            "sources": sorted(str(s) for g in result.added.values() for s in set(g.objects(None, CKG.source))),
            "triples": result.triples,
            "entities": result.entities(),
            "assertions": result.count(CKG.Assertion),
            "files": sorted(result.added),
        }
        tx.append_text(CHANGELOG, json.dumps(entry, sort_keys=True) + "\n")
    return result


def retract_assertion(
    data_dir: Path,
    record: URIRef,
    reason: str,
    curator: str | None = None,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> str:
    """Retract an assertion record: keep it, typed ckg:RetractedAssertion with the reason, in
    ``retractions.ttl``, and remove its plain triple unless another record still supports it.

    Returns the name of the file the record was in.
    """
    if not reason.strip():
        raise InputError("a retraction needs a reason", hint='add --reason "why the statement is withdrawn"')
    check_text(reason, "the reason")
    refuse_installed_copy(data_dir, "ckg retract")
    with DataTransaction(data_dir, lock_timeout, on_wait) as tx:
        names = tx.data_files()
        files = {name: _parse_data_file(data_dir, name, tx.read_bytes(name)) for name in names}
        home = next((n for n, g in files.items() if (record, RDF.type, CKG.Assertion) in g), None)
        if home is None:
            retracted = any((record, RDF.type, CKG.RetractedAssertion) in g for g in files.values())
            raise InputError(
                f"{compact(record)} is {'already retracted' if retracted else 'not an assertion record of the data'}",
                hint="find record IRIs with `ckg query evidence-for --param term=...`",
            )
        graph = files[home]
        statement = (
            graph.value(record, RDF.subject),
            graph.value(record, RDF.predicate),
            graph.value(record, RDF.object),
        )
        moved = Graph()
        for p, o in graph.predicate_objects(record):
            graph.remove((record, p, o))
            moved.add((record, p, CKG.RetractedAssertion if (p, o) == (RDF.type, CKG.Assertion) else o))
        moved.add((record, CKG.retractionReason, Literal(reason.strip())))
        moved.add((record, CKG.retractedAt, Literal(datetime.now(UTC).replace(microsecond=0))))
        moved.add((record, CKG.retractedBy, Literal(curator or getpass.getuser())))
        still_supported = any(
            (other, RDF.type, CKG.Assertion) in g
            and (other, RDF.object, statement[2]) in g
            and (other, RDF.predicate, statement[1]) in g
            for g in files.values()
            for other in g.subjects(RDF.subject, statement[0])
        )
        if not still_supported:
            for g in files.values():
                g.remove(statement)
        for name, g in files.items():
            if name == "retractions.ttl":
                g += moved
        if "retractions.ttl" not in files:
            raise InputError(f"{data_dir} has no retractions.ttl to keep the retracted record in")
        for name in names:
            tx.write_text(name, canonical_turtle(files[name]))
        entry = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": curator or getpass.getuser(),
            "action": "retract",
            "assertion": str(record),
            "reason": reason.strip(),
            "plain_triple_removed": not still_supported,
        }
        tx.append_text(CHANGELOG, json.dumps(entry, sort_keys=True) + "\n")
    return home
