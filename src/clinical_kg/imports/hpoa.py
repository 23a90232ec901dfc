"""The disease annotations of the HPO (``phenotype.hpoa``) as assertion records, one row at a time.

Each row becomes a statement about the disease (``ckg:hasSymptom`` for aspect P; the features of
aspects I, C, M, H) and its record: the release as ``ckg:source``, the cited references, the
evidence code mapped to ECO, the qualifiers and the curations (docs/decisions/0008-hpo-import.md).
A row that cannot be imported faithfully is left out and reported with its line number.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from clinical_kg.errors import InputError
from clinical_kg.imports import XSD, Progress, Resolution, SourceReport, iri, literal, triple
from clinical_kg.imports.hpo import (
    CLINICAL_COURSE,
    CLINICAL_MODIFIER,
    FREQUENCY,
    MODE_OF_INHERITANCE,
    ONSET,
    PAST_MEDICAL_HISTORY,
    PHENOTYPIC_ABNORMALITY,
    RDF_TYPE,
    Ontology,
    release_lines,
    term_iri,
)
from clinical_kg.namespaces import curie, prefix_map
from clinical_kg.vocab import CKG

COLUMNS = (
    "database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence", "onset", "frequency", "sex",
    "modifier", "aspect", "biocuration",
)  # fmt: skip
# Aspect: the predicate of the statement, the HPO branch its term must be in, and what the branch is.
ASPECTS = {
    "P": (CKG.hasSymptom, PHENOTYPIC_ABNORMALITY, "a phenotypic abnormality"),
    "I": (CKG.modeOfInheritance, MODE_OF_INHERITANCE, "a mode of inheritance"),
    "C": (CKG.clinicalCourse, CLINICAL_COURSE, "a clinical course"),
    "M": (CKG.clinicalModifier, CLINICAL_MODIFIER, "a clinical modifier"),
    "H": (CKG.medicalHistory, PAST_MEDICAL_HISTORY, "a past medical history"),
}
# HPOA evidence codes and their ECO terms, as the Monarch Initiative's HPOA ingest maps them.
EVIDENCE = {
    "TAS": ("0000304", "author statement supported by traceable reference used in manual assertion"),
    "PCS": ("0006017", "author statement from published clinical study used in manual assertion"),
    "IEA": ("0000501", "evidence used in automatic assertion"),
}
SEX = {"FEMALE": ("0000383", "female"), "MALE": ("0000384", "male")}
_DISEASE = re.compile(r"^(OMIM):(\d{6})$|^(ORPHA):(\d+)$|^(DECIPHER):(\d+)$")
_REFERENCE = re.compile(r"^(PMID|OMIM|ORPHA|DECIPHER):(\d+)$")
_ISBN = re.compile(r"^ISBN(?:-1[03])?:([0-9][0-9-]{8,15}[0-9Xx])$")
_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_COUNT = re.compile(r"^(\d+)/(\d+)$")
_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d+)?)%$")
_HPO_ID = re.compile(r"^HP:\d{7}$")
_VERSION = re.compile(r"^#version: (\d{4}-\d{2}-\d{2})\s*$")


class RowError(Exception):
    """Why a row cannot be imported: ``kind`` (malformed, unknown term, ...) and the detail."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def read_header(path: Path) -> str:
    """The release date of an annotation file (its ``#version:`` line); an InputError if it has none."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            if found := _VERSION.match(line):
                return found.group(1)
    raise InputError(
        f"{path}: no '#version: YYYY-MM-DD' line in the header",
        hint="give phenotype.hpoa as the HPO publishes it: its header says which release it is",
    )


def annotation_lines(path: Path, ontology: Ontology, report: SourceReport, progress: Progress) -> Iterator[str]:
    """The N-Triples of the annotations' graph: its dataset and source nodes, a statement and a
    record per importable row (one string of several lines per row), the diseases, and the labels
    of the ECO and PATO terms used."""
    mapper = _Mapper(ontology, report)
    yield from release_lines(report, "HPO annotations", "hpoa", "the disease annotations of the HPO", ontology.license)
    names: dict[str, Counter[str]] = {}
    stated: set[tuple[str, str, str]] = set()
    seen: dict[str, int] = {}
    total = path.stat().st_size
    with open(path, "rb") as raw:
        for number, line in _data_lines(path, raw):
            report.read += 1
            if report.read % 20000 == 0:
                progress(f"reading {report.name}", raw.tell(), total)
            fields = line.rstrip("\r\n").split("\t")
            try:
                row = mapper.row(fields, number)
            except RowError as exc:
                report.skip(number, exc.kind, exc.reason)
                continue
            names.setdefault(row.disease, Counter())[fields[1]] += 1  # a duplicate may name the disease anew
            first = seen.setdefault(row.key, number)
            if first != number:
                report.skip(number, "duplicate", f"the same annotation as line {first}")
                continue
            report.resolved.extend(row.resolutions)
            report.counts[ASPECT_COUNTS[row.aspect, row.negated]] += 1
            statement = (row.disease, row.predicate, row.term)
            if not row.negated and statement not in stated:
                stated.add(statement)
                yield f"{row.disease} {row.predicate} {row.term} .\n"
            yield mapper.record(row)
    progress(f"reading {report.name}", total, total)
    for disease, counts in names.items():
        name, _count = counts.most_common(1)[0]  # Counter keeps first-seen order on ties
        yield triple(disease, RDF_TYPE, iri(CKG.Condition))
        yield triple(disease, iri(SKOS + "prefLabel"), literal(name, "en"))
        for other in counts:
            if other != name:
                yield triple(disease, iri(SKOS + "altLabel"), literal(other, "en"))
        if len(counts) > 1:
            report.notes.append(
                f"{curie(disease[1:-1])} is named {len(counts)} ways: prefLabel {name!r}, the others altLabel"
            )
    report.counts["diseases"] = len(names)
    yield from _term_labels(prefix_map())


def _data_lines(path: Path, raw: BinaryIO) -> Iterator[tuple[int, str]]:
    """(line number, line) of the data rows, after the ``#`` header and the column names."""
    for number, data in enumerate(raw, 1):
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}:{number}:{exc.start + 1}: not UTF-8", hint="give the file as the HPO publishes it"
            ) from None
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("database_id\t"):
            if tuple(line.rstrip("\r\n").split("\t")) != COLUMNS:
                raise InputError(
                    f"{path}:{number}: the columns are not those of phenotype.hpoa",
                    hint="expected: " + ", ".join(COLUMNS),
                )
            continue
        yield number, line


def _term_labels(ids: dict[str, str]) -> Iterator[str]:
    label = iri("http://www.w3.org/2000/01/rdf-schema#label")
    notation = iri("http://www.w3.org/2004/02/skos/core#notation")
    for code, (eco, name) in EVIDENCE.items():
        yield triple(iri(ids["ECO"] + eco), label, literal(name, "en"))
        yield triple(iri(ids["ECO"] + eco), notation, literal(code))
    for pato, name in SEX.values():
        yield triple(iri(ids["PATO"] + pato), label, literal(name, "en"))


class _Row:
    """One importable annotation: the statement (in N-Triples form), its qualifiers and the record IRI."""

    __slots__ = ("aspect", "curations", "disease", "evidence", "frequency", "key", "modifiers", "negated",
                 "onset", "predicate", "references", "resolutions", "sex", "term")  # fmt: skip

    def __init__(self) -> None:
        self.resolutions: list[Resolution] = []


def _ntriples(prop: str) -> str:
    return iri(str(prop))


RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ASPECT_COUNTS = {
    (aspect, negated): f"aspect {aspect}: {what[2:]}" + (", NOT (negated records)" if negated else "")
    for aspect, (_predicate, _branch, what) in ASPECTS.items()
    for negated in (False, True)
}


class _Mapper:
    """Maps rows to records, with the N-Triples forms of the vocabulary and of the terms met so far."""

    def __init__(self, ontology: Ontology, report: SourceReport) -> None:
        self.ontology = ontology
        self.report = report
        self.ids = prefix_map()
        self.source = iri(self.ids["ckgsrc"] + f"hpoa-{report.release}")
        self.assertions = self.ids["ckga"]
        self.predicates = {aspect: iri(str(spec[0])) for aspect, spec in ASPECTS.items()}
        self.evidence = {code: iri(self.ids["ECO"] + eco) for code, (eco, _name) in EVIDENCE.items()}
        self.sexes = {sex: iri(self.ids["PATO"] + pato) for sex, (pato, _name) in SEX.items()}
        self.diseases: dict[str, str] = {}
        self.references: dict[str, str] = {}
        self.terms: dict[tuple[str, str, str], tuple[str, str]] = {}  # (value, column, branch) -> (IRI, why)
        p = {name: _ntriples(CKG[name]) for name in (
            "source", "reference", "evidenceCode", "frequency", "frequencyTerm", "casesObserved", "casesTotal",
            "percentage", "onsetTerm", "sex", "modifier", "biocuration", "negated")}  # fmt: skip
        self.p = p
        self.head = (
            f" {RDF_TYPE} {iri(str(CKG.Assertion))} .\n{{record}} <{RDF_NS}subject> {{disease}} .\n"
            f"{{record}} <{RDF_NS}predicate> {{predicate}} .\n{{record}} <{RDF_NS}object> {{term}} .\n"
        )
        self.negated = f" {p['negated']} {literal('true', datatype=XSD + 'boolean')} .\n"

    def record(self, row: _Row) -> str:
        """The N-Triples lines of a row's assertion record."""
        record = f"<{self.assertions}{row.key}>"
        p = self.p
        lines = [record + self.head.format(record=record, disease=row.disease, predicate=row.predicate, term=row.term)]
        if row.negated:
            lines.append(record + self.negated)
        lines.append(f"{record} {p['source']} {self.source} .\n")
        lines.extend(f"{record} {p['reference']} {reference} .\n" for reference in row.references)
        lines.append(f"{record} {p['evidenceCode']} {row.evidence} .\n")
        lines.extend(f"{record} {p[name]} {value} .\n" for name, value in row.frequency)
        if row.onset:
            lines.append(f"{record} {p['onsetTerm']} {row.onset} .\n")
        if row.sex:
            lines.append(f"{record} {p['sex']} {row.sex} .\n")
        lines.extend(f"{record} {p['modifier']} {modifier} .\n" for modifier in row.modifiers)
        lines.extend(f"{record} {p['biocuration']} {literal(curation)} .\n" for curation in row.curations)
        return "".join(lines)

    def row(self, fields: list[str], number: int) -> _Row:
        """Check and map one row; raise RowError when it cannot be imported."""
        if len(fields) != len(COLUMNS):
            raise RowError("malformed", f"{len(COLUMNS)} tab-separated columns expected, found {len(fields)}")
        db_id, name, qualifier, hpo_id, references, evidence, onset, frequency, sex, modifiers, aspect, curation = (
            fields
        )
        row = _Row()
        row.disease = self.disease(db_id)
        if not name.strip():
            raise RowError("malformed", f"{db_id} has no disease_name")
        if qualifier not in ("", "NOT"):
            raise RowError("malformed", f"qualifier {qualifier!r} is neither empty nor NOT")
        row.negated = qualifier == "NOT"
        if aspect not in ASPECTS:
            raise RowError("malformed", f"aspect {aspect!r} is not one of {', '.join(ASPECTS)}")
        row.aspect = aspect
        _predicate, branch, what = ASPECTS[aspect]
        row.predicate = self.predicates[aspect]
        if evidence not in EVIDENCE:
            raise RowError("malformed", f"evidence {evidence!r} is not one of {', '.join(EVIDENCE)}")
        row.evidence = self.evidence[evidence]
        row.references = [self.reference(item.strip()) for item in references.split(";") if item.strip()]
        if not row.references:
            raise RowError("malformed", "no reference")
        row.term = self.term(row, number, hpo_id, "hpo_id", branch, what)
        row.onset = self.term(row, number, onset, "onset", ONSET, "an onset") if onset else ""
        row.frequency = self.frequency(row, number, frequency)
        if sex and sex.upper() not in SEX:
            raise RowError("malformed", f"sex {sex!r} is neither MALE nor FEMALE")
        row.sex = self.sexes[sex.upper()] if sex else ""
        row.modifiers = [
            self.term(row, number, item.strip(), "modifier", CLINICAL_MODIFIER, "a clinical modifier")
            for item in modifiers.split(";")
            if item.strip()
        ]
        row.curations = [item.strip() for item in curation.split(";") if item.strip()]
        key = "\t".join(fields[:1] + fields[2:])  # the annotation, whatever the disease is called on this row
        row.key = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        return row

    def disease(self, db_id: str) -> str:
        """The IRI of an OMIM, Orphanet or DECIPHER disease."""
        found = self.diseases.get(db_id)
        if found is None:
            match = _DISEASE.match(db_id)
            if not match:
                raise RowError(
                    "malformed", f"database_id {db_id!r} is not OMIM: (six digits), ORPHA: or DECIPHER: and digits"
                )
            prefix, number = (group for group in match.groups() if group)
            found = self.diseases[db_id] = iri(self.ids[prefix] + number)
        return found

    def reference(self, text: str) -> str:
        """The IRI of a cited reference: PMID, OMIM, ORPHA, DECIPHER, ISBN or a web address."""
        found = self.references.get(text)
        if found is None:
            found = self.references[text] = _reference(text, self.ids)
        return found

    def term(self, row: _Row, number: int, value: str, column: str, branch: str, what: str) -> str:
        """The IRI of the current HPO term an id stands for; a replaced id is noted on the row."""
        key = (value, column, branch)
        cached = self.terms.get(key)
        if cached is None:
            cached = self.terms[key] = self._term(value, column, branch, what)
        found, why = cached
        if why:
            row.resolutions.append(Resolution(self.report.file, number, value, found, why))
        return term_iri(found)

    def _term(self, value: str, column: str, branch: str, what: str) -> tuple[str, str]:
        if not _HPO_ID.match(value):
            raise RowError("malformed", f"{column} {value!r} is not an HPO id (HP: and seven digits)")
        found, why = self.ontology.resolve(value)
        if found is None:
            if why == "unknown term":
                raise RowError("unknown term", f"{column} {value} is not in {Path(self.ontology.file).name}")
            raise RowError("obsolete term", f"{column} {value} is {why}")
        if not self.ontology.under(found, branch):
            label = self.ontology.terms[found].name
            raise RowError("wrong branch", f"{column} {found} ({label}) is not {what} (under {branch})")
        return found, why

    def frequency(self, row: _Row, number: int, value: str) -> list[tuple[str, str]]:
        """The frequency as (property name, N-Triples object) pairs: a term, a count n/m, or a percentage."""
        if not value:
            return []
        if value.startswith("HP:"):
            return [("frequencyTerm", self.term(row, number, value, "frequency", FREQUENCY, "a frequency"))]
        if found := _COUNT.match(value):
            observed, total = int(found.group(1)), int(found.group(2))
            if total == 0 or observed > total:
                raise RowError("malformed", f"frequency {value!r}: {observed} of a cohort of {total}")
            return [
                ("frequency", literal(value)),
                ("casesObserved", literal(str(observed), datatype=XSD + "integer")),
                ("casesTotal", literal(str(total), datatype=XSD + "integer")),
            ]
        if (found := _PERCENT.match(value)) and float(found.group(1)) <= 100:
            return [("frequency", literal(value)), ("percentage", literal(found.group(1), datatype=XSD + "decimal"))]
        raise RowError("malformed", f"frequency {value!r} is not an HPO frequency term, a count n/m or a percentage")


def _reference(text: str, ids: dict[str, str]) -> str:
    if found := _REFERENCE.match(text):
        prefix = found.group(1)
        if prefix == "OMIM" and len(found.group(2)) != 6:
            raise RowError("malformed", f"reference {text!r}: an OMIM id has six digits")
        return iri(ids[prefix] + found.group(2))
    if found := _ISBN.match(text):
        return iri(ids["ISBN"] + found.group(1))
    if _URL.match(text):
        try:
            ox.NamedNode(text)
        except ValueError:
            pass
        else:
            return iri(text)
    raise RowError(
        "malformed",
        f"reference {text!r} is not a PMID, OMIM, ORPHA, DECIPHER or ISBN id (PREFIX:digits) or a web address",
    )
