"""The Python API, for notebooks and programs: ``kg = clinical_kg.open()``.

One object holds the loaded graph and answers the same questions as the ``ckg`` command, which is
a thin layer over it::

    import clinical_kg

    kg = clinical_kg.open()                      # the shipped graph, in memory
    answer = kg.query("conditions-causing-symptom", symptom="radiating leg pain")
    answer.rows                                  # tuples of RDF terms (rdflib), as the engine gave them
    answer.to_records()                          # dictionaries of plain Python values
    answer.to_pandas()                           # a pandas DataFrame (pip install "clinical-kg[pandas]")
    kg.sparql("SELECT ?c WHERE { ?c a ckg:Condition }")
    kg.lookup("sciatic nerve pain")
    kg.validate("candidate.ttl")                 # or kg.validate() for the whole graph

Parameter values are labels, synonyms, codes, CURIEs or IRIs, bound as RDF terms, never pasted
into the query; a parameter with several values takes a list. Errors are the package's typed
errors (:mod:`clinical_kg.errors`), each with a ``hint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.namespaces import curie
from clinical_kg.store import DEFAULT_STORE, KnowledgeGraph, QueryResult, open_graph

if TYPE_CHECKING:
    import pandas
    from rdflib import Graph, URIRef
    from rdflib.term import Node

    from clinical_kg.catalogue import CatalogueQuery
    from clinical_kg.curation import Finding
    from clinical_kg.grouping import GroupedResult
    from clinical_kg.terms import Match, TermIndex


def plain_value(term: Node | None, curies: bool = False) -> Any:
    """A plain Python value for an RDF term: an IRI's text (or CURIE), a literal's value, ``_:id`` for a blank node."""
    from rdflib import BNode, Literal, URIRef

    if term is None:
        return None
    if curies and isinstance(term, URIRef):
        return curie(str(term)) or str(term)
    if isinstance(term, Literal):
        value = term.toPython()
        return value if not isinstance(value, Literal) else str(value)  # an ill-typed literal: its text
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def _data_frame(records: list[dict[str, Any]], columns: list[str]) -> pandas.DataFrame:
    try:
        import pandas
    except ImportError:
        raise InputError(
            "to_pandas() needs pandas, which is not installed", hint='pip install "clinical-kg[pandas]"'
        ) from None
    return pandas.DataFrame.from_records(records, columns=columns)


class Result(QueryResult):
    """The answer to a query: rows for SELECT, ``boolean`` for ASK, ``graph`` for CONSTRUCT and DESCRIBE.

    ``rows`` hold rdflib terms as the engine gave them; :meth:`to_records` and :meth:`to_pandas`
    give plain values. The result writers of :mod:`clinical_kg.results` take it as it is.
    """

    def __init__(self, *args: Any, title: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = title

    @classmethod
    def of(cls, answer: QueryResult, title: str | None = None) -> Result:
        """The result of a store's answer (its rows as they are held, converted when first read)."""
        result = cls(answer.form, answer.variables, None, answer.boolean, answer.graph, answer.total, answer.offset,
                     title=title)  # fmt: skip
        result._rows, result._terms = answer._rows, answer._terms
        return result

    def to_records(self, curies: bool = False) -> list[dict[str, Any]]:
        """The rows as dictionaries from variable to value.

        IRIs as text (``curies=True``: as CURIEs where the project has a prefix, ``ckg:causes``),
        literals as Python values (str, int, float, bool, date), blank nodes as ``_:id``, None
        where a variable is unbound.
        """
        return [{v: plain_value(t, curies) for v, t in zip(self.variables, row, strict=True)} for row in self.rows]

    def to_pandas(self, curies: bool = False) -> pandas.DataFrame:
        """The rows as a pandas DataFrame, one column per variable, values as in :meth:`to_records`."""
        return _data_frame(self.to_records(curies), self.variables)

    def __len__(self) -> int:
        return len(self.graph) if self.graph is not None else self.row_count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_records())

    def __repr__(self) -> str:
        if self.form == "ASK":
            return f"<Result ASK: {self.boolean}>"
        if self.graph is not None:
            return f"<Result {self.form}: {len(self.graph)} triples>"
        return f"<Result {self.form}: {self.row_count} rows of {', '.join(self.variables)}>"


FINDING_KEYS = ("severity", "focus", "rule", "message", "path", "value", "suggestion")


@dataclass
class Validation:
    """What validation found: per candidate file (or for the whole graph), with the findings in order."""

    conforms: bool
    findings: list[Finding]
    text: str  # the report as ``ckg validate`` prints it
    reports: list[Any] = field(default_factory=list)  # the candidate reports, or the graph's SHACL report

    def to_records(self) -> list[dict[str, Any]]:
        """The findings as dictionaries: severity, focus, rule, message, path, value, suggestion."""
        from rdflib.term import Node

        records = []
        for finding in self.findings:
            values = {key: getattr(finding, key) for key in FINDING_KEYS}
            records.append({key: plain_value(v) if isinstance(v, Node) else v for key, v in values.items()})
        return records

    def to_pandas(self) -> pandas.DataFrame:
        """The findings as a pandas DataFrame."""
        return _data_frame(self.to_records(), list(FINDING_KEYS))


class ClinicalKG:
    """The graph, loaded once, with the catalogue, ad-hoc SPARQL, term lookup and validation."""

    def __init__(
        self, opener: Callable[[], KnowledgeGraph], data_dir: Path, remote: bool = False, store_path: Path | None = None
    ) -> None:
        self._opener = opener
        self._kg: KnowledgeGraph | None = None
        self.data_dir = data_dir  # the curated data candidates are checked against (unless remote)
        self.remote = remote  # the graph is on a SPARQL server: candidates are checked against its data
        self.store_path = store_path  # an on-disk store: candidates are also checked against what it imported
        self._index: TermIndex | None = None

    @property
    def kg(self) -> KnowledgeGraph:
        """The store holding the graph, loaded on first use (candidate validation does not need it)."""
        if self._kg is None:
            self._kg = self._opener()
        return self._kg

    @property
    def graph(self) -> Graph:
        """The graph as an rdflib Graph (vocabulary and data), for rdflib's own API."""
        return self.kg.graph

    @property
    def index(self) -> TermIndex:
        """The labels, synonyms and codes of the entities, built on first use."""
        if self._index is None:
            from clinical_kg.terms import TermIndex

            self._index = TermIndex(self.kg)
        return self._index

    def queries(self) -> list[CatalogueQuery]:
        """The catalogue: each question's name, title, description, parameters and returned variables."""
        from clinical_kg.catalogue import load_catalogue

        return list(load_catalogue().values())

    def query(
        self,
        name: str,
        /,
        *,
        group: bool = False,
        limit: int | None = None,
        offset: int = 0,
        **params: str | Sequence[str],
    ) -> Result | GroupedResult:
        """Run the catalogue question ``name``; each parameter a value or a list of values.

        ``group=True`` gives the grouped answer (:mod:`clinical_kg.grouping`): one group per
        answer term (a condition, ...) with the listed terms, bases and evidence rows as lists.
        With ``limit`` (and ``offset``) the result holds one page of the rows (of the groups),
        and its ``total`` says how many the whole answer has (:mod:`clinical_kg.paging`).
        """
        from clinical_kg.catalogue import get_query, run_grouped, run_query
        from clinical_kg.paging import Page

        values = {key: [value] if isinstance(value, str) else list(value) for key, value in params.items()}
        page = Page(limit, offset)
        if group:
            return run_grouped(self.kg, name, values, index=self.index, page=page)
        answer = run_query(self.kg, name, values, index=self.index, page=page)
        return Result.of(answer, title=get_query(name).title)

    def sparql(self, text: str) -> Result:
        """Run an ad-hoc query (the project's prefixes predeclared; SERVICE, FROM and updates refused)."""
        from clinical_kg.namespaces import prefix_map

        return Result.of(self.kg.query(text, prefixes=prefix_map()))

    def lookup(self, text: str, limit: int = 10) -> list[Match]:
        """Entities whose label, synonym, code or IRI matches ``text``, best first (each ``iri`` an
        rdflib ``URIRef``)."""
        from dataclasses import replace

        from rdflib import URIRef

        return [replace(match, iri=URIRef(match.iri)) for match in self.index.lookup(text, limit=limit)]

    def label(self, term: URIRef | str) -> str:
        """The preferred label of an entity ('' if it has none)."""
        return self.index.label.get(str(term), "")

    def validate(self, *paths: str | Path, sources_dir: str | Path | None = None, verbose: bool = False) -> Validation:
        """Check candidate files against the curated data, or, with no ``paths``, the whole graph.

        On an on-disk store (``store_path``) a candidate is also checked against the databases
        imported into it (``ckg import``), read where they are.

        Every evidence quote of a candidate is looked up in its source's text, in ``sources_dir``
        (default: ``$CKG_SOURCES_DIR``, else ``sources/`` beside the data folder). ``verbose``
        lists every warning of the whole graph, not the first few of each rule.
        """
        if paths:
            return self._validate_candidates([Path(p) for p in paths], sources_dir)
        from clinical_kg.curation import Finding
        from clinical_kg.results import compact
        from clinical_kg.validation import format_report, validate_kg

        report = validate_kg(self.kg)
        findings = [
            Finding(p.severity_name, p.focus, compact(p.shape), p.message, p.path, p.value) for p in report.problems
        ]
        return Validation(report.conforms, findings, format_report(report, self.index.label, verbose=verbose), [report])

    def _validate_candidates(self, paths: list[Path], sources_dir: str | Path | None) -> Validation:
        from clinical_kg.curation import format_candidate_report, load_data_graph, validate_candidate
        from clinical_kg.ingest import read_candidate

        candidates = [(path, read_candidate(path)) for path in paths]  # every file parses before any is checked
        if self.remote:  # the curated data on the SPARQL server: only the part each candidate's checks read
            from clinical_kg.remote.pull import candidate_data

            pulled = [candidate_data(self.kg, candidate) for _path, candidate in candidates]
        else:
            pulled = [self._with_imports(load_data_graph(self.data_dir))] * len(candidates)
        folder = Path(sources_dir) if sources_dir is not None else None
        reports = [
            validate_candidate(candidate, data, file=str(path), sources_dir=folder, data_dir=self.data_dir)
            for (path, candidate), data in zip(candidates, pulled, strict=True)
        ]
        return Validation(
            all(r.conforms for r in reports),
            [f for r in reports for f in r.findings],
            "".join(format_candidate_report(r) for r in reports),
            reports,
        )

    def _with_imports(self, data: Graph) -> Graph:
        """The curated ``data`` and, on an on-disk store, the databases imported into it (``ckg import``),
        read where they are: a candidate may cite an HPO term or an OMIM disease."""
        from clinical_kg.store import OxigraphKnowledgeGraph

        kg = self.kg if self.store_path is not None else None
        views = kg.imported_views() if isinstance(kg, OxigraphKnowledgeGraph) else []
        if not views:
            return data
        from rdflib.graph import ReadOnlyGraphAggregate

        return ReadOnlyGraphAggregate([data, *views])

    def stats(self) -> dict[str, Any]:
        """Counts by class and relation, assertions, sources, and the best-connected entities."""
        from clinical_kg.analysis import statistics

        return statistics(self.kg)

    def __repr__(self) -> str:
        loaded = f"loaded on {self._kg.store_name}" if self._kg is not None else "not loaded yet"
        return f"<ClinicalKG: data folder {self.data_dir.name!r}, {loaded}>"


def open_clinical_kg(
    data_dir: str | Path | None = None, store_path: str | Path | None = None, store: str = DEFAULT_STORE
) -> ClinicalKG:
    """The graph: the vocabulary and the curated data, in memory by default.

    The data folder is ``data_dir``, else the one :func:`clinical_kg.resources.locate_data` finds
    (``$CKG_DATA_DIR``, the ``data/`` of the checkout the current folder is in, the installed
    copy). ``store_path`` uses an on-disk store built by ``ckg load`` (built from the data if the
    folder is missing or empty, rebuilt when the data changed); ``store`` names the engine
    (``oxigraph`` or ``memory``).
    """
    folder = resources.data_dir(data_dir)
    if not folder.is_dir():
        raise InputError(f"the data folder {folder} is not a folder", hint="give the folder of the curated .ttl files")
    path = Path(store_path) if store_path is not None else None
    kg = open_graph(store, store_path=path, data_dir=folder)
    return ClinicalKG(lambda: kg, folder, store_path=path)
