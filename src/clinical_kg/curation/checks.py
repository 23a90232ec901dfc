"""Candidate checks: what a candidate introduces or touches, found against the curated data.

A candidate is a small file of new entities and assertion records. :func:`validate_candidate`
checks it together with the curated data (so references to existing entities resolve) but
reports only the problems that the candidate introduces or touches: SHACL on the focus nodes it
adds or touches, and the mistakes curators actually make (a term not in the vocabulary, a
duplicate of an existing entity, a quote that is not in the source, a contradiction).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, SKOS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.canonical import mint_assertion_iris
from clinical_kg.errors import InputError
from clinical_kg.evidence import SourceTexts
from clinical_kg.namespaces import prefix_map
from clinical_kg.results import compact
from clinical_kg.validation import validate_graph
from clinical_kg.vocab import CKG

VOCAB = prefix_map()["ckg"]
ENTITIES = prefix_map()["ckgid"]
# Shapes whose rule a candidate check below covers with a better message (and far faster).
CHECKED_IN_PYTHON = (URIRef(prefix_map()["ckgsh"] + "Entity-uniqueLabel"),)


@dataclass(frozen=True)
class Finding:
    """One problem of a candidate: what, where, and how to fix it."""

    severity: str  # "Violation", "Warning" or "Info"
    focus: Node
    rule: str
    message: str
    path: Node | None = None
    value: Node | None = None
    suggestion: str | None = None


@dataclass
class CandidateReport:
    """Everything validation found in one candidate."""

    file: str
    findings: list[Finding] = field(default_factory=list)
    shacl: Graph | None = None
    labels: dict[Node, str] = field(default_factory=dict)

    @property
    def conforms(self) -> bool:
        """True when no finding is a violation."""
        return not any(f.severity == "Violation" for f in self.findings)

    @property
    def warnings(self) -> bool:
        """True when some finding is a warning or an info."""
        return any(f.severity != "Violation" for f in self.findings)


def load_data(data_dir: Path) -> dict[str, Graph]:
    """Every topic file of a data folder, parsed, by file name."""
    return {path.name: parse_data_file(path) for path in sorted(data_dir.glob("*.ttl"))}


def load_data_graph(data_dir: Path) -> Graph:
    """Every topic file of a data folder in one graph (each file's blank nodes its own)."""
    graph = Graph()
    for path in sorted(data_dir.glob("*.ttl")):
        parse_data_file(path, into=graph)
    return graph


def parse_data_file(path: Path, into: Graph | None = None) -> Graph:
    """The triples of a curated Turtle file, added to ``into`` (a new graph by default).

    Read by Oxigraph's parser and turned into rdflib terms: about a third of the time of
    rdflib's parser (which took a quarter of checking a candidate). The triples are those
    rdflib's parser gives (a test compares them for every shipped file), but for two spellings
    of one RDF 1.1 term: a literal written ``"x"^^xsd:string`` is the plain ``"x"``, and a
    language tag is in lower case (rdflib compares tags regardless of case).
    """
    from clinical_kg.store import from_oxigraph

    graph = Graph() if into is None else into
    try:
        quads = ox.parse(path=path, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True)
        graph.addN((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object), graph)
                   for q in quads)  # fmt: skip
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset}: the curated data file does not parse: {exc.msg}") from None
    except (OSError, TypeError, ValueError) as exc:  # unreadable; a term rdflib cannot hold (RDF 1.2)
        raise InputError(f"{path}: the curated data file does not parse: {exc}") from None
    return graph


@lru_cache(maxsize=2)
def _parsed_vocabulary(path: Path, _mtime_ns: int) -> Graph:
    return Graph().parse(path, format="turtle")


def _vocabulary() -> Graph:
    """The vocabulary, parsed once per version of the file (callers only read it)."""
    path = resources.vocabulary_file()
    return _parsed_vocabulary(path, path.stat().st_mtime_ns)


def _declared_terms(vocabulary: Graph) -> set[URIRef]:
    return {s for s in vocabulary.subjects() if isinstance(s, URIRef) and str(s).startswith(VOCAB)}


def _vocabulary_findings(
    candidate: Graph, declared: set[URIRef], known_entities: set[Node], suggestions: Callable[[], set[Node]]
) -> list[Finding]:
    """Terms of ckg: that the vocabulary lacks, and ckgid: entities that exist nowhere.

    ``suggestions`` gives the entities a misspelt ckgid: IRI may have meant; it is called only
    when there is one (on a large graph it reads every labelled subject).
    """
    findings = []
    names = {str(t)[len(VOCAB) :]: t for t in declared}
    seen: set[tuple[Node, Node]] = set()
    for s, p, o in sorted(candidate, key=str):
        uses = [(p, "property"), (s, "subject")]
        if p == RDF.type or p == RDF.predicate:
            uses.append((o, "class" if p == RDF.type else "property"))
        elif isinstance(o, URIRef):
            uses.append((o, "term"))
        for term, kind in uses:
            if not isinstance(term, URIRef) or (s, term) in seen:
                continue
            if str(term).startswith(VOCAB) and term not in declared:
                seen.add((s, term))
                close = difflib.get_close_matches(str(term)[len(VOCAB) :], list(names), n=1, cutoff=0.6)
                findings.append(
                    Finding(
                        "Violation",
                        s,
                        "vocabulary",
                        f"ckg:{str(term)[len(VOCAB) :]} is not a {kind} of the clinical-kg vocabulary",
                        p,
                        None if term == p else term,
                        f"did you mean ckg:{close[0]}?" if close else "see ontology/clinical-kg.ttl",
                    )
                )
            elif str(term).startswith(ENTITIES) and term not in known_entities:
                seen.add((s, term))
                pool = known_entities | suggestions()
                close = difflib.get_close_matches(str(term), [str(e) for e in pool], n=1, cutoff=0.8)
                findings.append(
                    Finding(
                        "Violation",
                        s,
                        "unknown-entity",
                        f"{compact(term)} is not declared in the candidate or the graph",
                        p,
                        None if term in (p, s) else term,
                        f"did you mean {compact(URIRef(close[0]))}?"
                        if close
                        else "declare it with a class and a skos:prefLabel",
                    )
                )
    return findings


def _name_key(name: Node) -> str:
    return " ".join(str(name).split()).casefold()


def _name_variants(name: Literal) -> set[Literal]:
    """The literals under which data may hold a name equal to ``name`` ignoring case and spacing.

    The text as typed, with its spaces folded, and in lower, upper, capitalised and title case;
    each with the name's own language or datatype, tagged "en" (the language the shapes allow for
    labels) and plain.
    """
    folded = " ".join(str(name).split())
    texts = {str(name), folded, folded.lower(), folded.casefold(), folded.upper(), folded.capitalize(), folded.title()}
    variants = {Literal(text, lang="en") for text in texts} | {Literal(text) for text in texts}
    variants |= {Literal(text, lang=name.language, datatype=name.datatype) for text in texts}
    return variants


def _name_owners(data: Graph, name: Node) -> set[Node]:
    """The entities of ``data`` with a skos:prefLabel or skos:altLabel equal to ``name`` (case and spacing aside).

    Found by exact lookups of the name's variants (:func:`_name_variants`), never by reading
    every label of the data: a label of the data written in mixed case that none of the
    variants spell ("Back sPasm") is not found.
    """
    if not isinstance(name, Literal):
        return set()
    key = _name_key(name)
    return {
        entity
        for variant in _name_variants(name)
        for p in (SKOS.prefLabel, SKOS.altLabel)
        for entity in data.subjects(p, variant)
        if _name_key(variant) == key
    }


def _duplicate_findings(candidate: Graph, data: Graph) -> list[Finding]:
    """Labels and synonyms of the candidate that already name another entity."""
    owners: dict[Node, set[Node]] = {}
    findings = []
    for p in (SKOS.prefLabel, SKOS.altLabel):
        for entity, name in sorted(candidate.subject_objects(p), key=str):
            if name not in owners:
                owners[name] = _name_owners(data, name)
            others = sorted(owners[name] - {entity}, key=str)
            if not others:
                continue
            if (entity, None, None) not in data:
                message = (f'"{name}" already names {compact(others[0])}: this looks like a duplicate of an existing '
                           "entity under another IRI")  # fmt: skip
                suggestion = f"use {compact(others[0])} instead of {compact(entity)}, or pick another label"
            else:
                message = f'"{name}" already names {compact(others[0])}: one name cannot belong to two entities'
                suggestion = f"drop this synonym, or move it from {compact(others[0])} if it belongs here"
            findings.append(Finding("Violation", entity, "duplicate-entity", message, p, name, suggestion))
    return findings


def _record_key(graph: Graph, record: Node) -> tuple[Node | None, Node | None, Node | None, bool]:
    negated = graph.value(record, CKG.negated)
    return (
        graph.value(record, RDF.subject),
        graph.value(record, RDF.predicate),
        graph.value(record, RDF.object),
        negated is not None and negated.toPython() is True,
    )


def _contradiction_findings(candidate: Graph, data: Graph) -> list[Finding]:
    """Records of the candidate that assert what an existing record negates, or the reverse."""
    findings = []
    for record in sorted(candidate.subjects(RDF.type, CKG.Assertion), key=str):
        s, p, o, negated = _record_key(candidate, record)
        for other in sorted(data.subjects(RDF.subject, s), key=str):
            if (other, RDF.type, CKG.Assertion) not in data or _record_key(data, other) != (s, p, o, not negated):
                continue
            what = "negates" if negated else "asserts"
            findings.append(
                Finding("Violation", record, "contradiction",
                        f"this record {what} {compact(s)} {compact(p)} {compact(o)}, which {compact(other)} "
                        f"{'asserts' if negated else 'negates'}", RDF.predicate, p,
                        "retract one of the two, or qualify the statement (population, context) so they no longer "
                        "clash")
            )  # fmt: skip
    return findings


def _reverse_findings(candidate: Graph, data: Graph) -> list[Finding]:
    """Records of the candidate whose statement the data already holds the other way round."""
    findings = []
    for record in sorted(candidate.subjects(RDF.type, CKG.Assertion), key=str):
        s, p, o, negated = _record_key(candidate, record)
        if None in (s, p, o) or s == o or negated:
            continue
        reverse = [r for r in data.subjects(RDF.subject, o) if _record_key(data, r) == (o, p, s, False)]
        if reverse:
            findings.append(
                Finding("Warning", record, "reverse-direction",
                        f"the data states the reverse: {compact(o)} {compact(p)} {compact(s)} ({compact(reverse[0])})",
                        RDF.subject, s,
                        "check which way the source states it: swap rdf:subject and rdf:object if it is the same "
                        "statement")
            )  # fmt: skip
    return findings


def touched_nodes(candidate: Graph) -> set[Node]:
    """The nodes a candidate adds or touches: its subjects and the entities it points to."""
    nodes = set(candidate.subjects())
    nodes |= {o for o in candidate.objects() if isinstance(o, URIRef) and str(o).startswith(ENTITIES)}
    return {n for n in nodes if not isinstance(n, BNode)}


def neighbourhood(graph: Graph, nodes: set[Node], mentioned: set[Node] = frozenset()) -> Graph:
    """The part of ``graph`` that the shapes read to judge ``nodes``.

    That is: the nodes' own triples, the assertion records whose rdf:subject they are (and those
    records' plain triples), their ckg:broader chain, and the classes of every IRI in that part
    or in ``mentioned``. The shapes' rules are local to these, so validating this part gives the
    same results for ``nodes`` as validating the whole graph, at a cost that does not grow with
    it. Records whose rdf:object a node is are left out: no shape reads them to judge that node
    (a record is judged as a focus node of its own, and a clinical triple by its subject), and
    a hub such as "pain" is the object of thousands.
    """
    records = {r for n in nodes for r in graph.subjects(RDF.subject, n)}
    described = set(nodes) | records
    chain = list(nodes)
    while chain:
        for broader in graph.objects(chain.pop(), CKG.broader):
            if broader not in described:
                described.add(broader)
                chain.append(broader)
    part = Graph()
    for subject in described:
        for p, o in graph.predicate_objects(subject):
            part.add((subject, p, o))
    for record in records:
        statement = (
            graph.value(record, RDF.subject),
            graph.value(record, RDF.predicate),
            graph.value(record, RDF.object),
        )
        if None not in statement and statement in graph:
            part.add(statement)
    for term in {t for triple in part for t in triple if isinstance(t, URIRef)} | set(mentioned):
        for cls in graph.objects(term, RDF.type):
            part.add((term, RDF.type, cls))
    return part


def validate_candidate(
    candidate: Graph,
    data: Graph,
    *,
    file: str = "candidate",
    sources_dir: Path | None = None,
    data_dir: Path | None = None,
    source_missing: str = "Warning",
) -> CandidateReport:
    """Check ``candidate`` together with ``data`` (the curated data, without the vocabulary).

    Only the candidate's neighbourhood in the data is validated with SHACL (see
    :func:`neighbourhood`), so the cost follows the size of the candidate, not of the graph.
    Blank-node assertion records of the candidate are given their IRIs first, in place.
    Every quote is checked against its source's text, found in ``sources_dir``, else by
    :func:`clinical_kg.resources.locate_sources` (beside ``data_dir``); a source whose text is
    not there gets a finding of severity ``source_missing``.
    """
    from clinical_kg.curation.quotes import quote_findings

    mint_assertion_iris(candidate)
    vocabulary = _vocabulary()
    focus = touched_nodes(candidate) | {s for s in candidate.subjects() if isinstance(s, BNode)}
    mentioned = {t for triple in candidate for t in triple if isinstance(t, URIRef)}
    before = vocabulary + neighbourhood(data, focus, mentioned)
    after = before + candidate
    known = {t for t in mentioned if (t, None, None) in data} | set(candidate.subjects(RDF.type, None))
    report = CandidateReport(file)
    labelled = cache(lambda: set(data.subjects(SKOS.prefLabel)))  # suggestions for misspelt IRIs, if any
    report.findings += _vocabulary_findings(candidate, _declared_terms(vocabulary), known, labelled)
    report.findings += _duplicate_findings(candidate, data)
    report.findings += _contradiction_findings(candidate, data)
    report.findings += _reverse_findings(candidate, data)
    for source in set(candidate.objects(None, CKG.source)):  # what the quote checks read of existing sources
        for p in (CKG.fileName, CKG.sha256):
            for value in data.objects(source, p):
                after.add((source, p, value))
    texts = SourceTexts(resources.locate_sources(sources_dir, resources.data_dir(data_dir)))
    report.findings += quote_findings(candidate, after, texts, source_missing)
    shacl = validate_graph(after, focus_nodes=focus, skip_shapes=CHECKED_IN_PYTHON)
    report.shacl = shacl.graph
    introduced = [p for p in shacl.problems if p.focus in focus]
    if any((p.focus, None, None) in data for p in introduced):
        # problems an existing node had before the candidate are not the candidate's
        old = {
            (p.shape, p.focus, p.path, p.value)
            for p in validate_graph(before, focus_nodes=focus, skip_shapes=CHECKED_IN_PYTHON).problems
        }
        introduced = [p for p in introduced if (p.shape, p.focus, p.path, p.value) not in old]
    for problem in introduced:
        report.findings.append(
            Finding(problem.severity_name, problem.focus, compact(problem.shape), problem.message, problem.path,
                    problem.value)
        )  # fmt: skip
    report.labels = {s: str(o) for s, o in after.subject_objects(SKOS.prefLabel)}
    report.findings = sorted(
        set(report.findings), key=lambda f: (str(f.focus), f.severity != "Violation", f.rule, str(f.path), str(f.value))
    )
    return report
