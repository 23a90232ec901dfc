"""The query catalogue: one ``queries/<name>.rq`` per question, with a ``#+`` header.

Header (grlc convention; the file stays valid SPARQL)::

    #+ title: Conditions that cause a symptom
    #+ description: ...
    #+ parameters:
    #+   - {name: symptom, type: term, class: ckg:Symptom, example: "radiating leg pain"}
    #+ returns: [condition, conditionLabel, ...]

Each parameter has a ``VALUES ?var { ... }`` block (``var`` defaults to its name; a list of
names binds the same values to each, for a query that needs them in two places) in the query
body, holding its example value, so the file runs as it is in any SPARQL editor. Running a catalogue query
resolves each user value to a graph term and replaces the content of its blocks with the
terms' N-Triples forms: values are bound as RDF terms, never pasted as text. ``multiple: true``
parameters take several values (``--param symptoms=a --param symptoms=b``); ``required:
false`` parameters left out are bound to their ``default``; without one their blocks are dropped
(the answers of ``VALUES ?var { UNDEF }``, which Virtuoso 7.2 mishandles).

``type: term`` (the default) takes a label, synonym, code, CURIE or IRI of an entity; its block
holds that entity and every entity of the graph that is the same as it (``skos:exactMatch``
either way, such as a curated symptom and the imported HPO term), so a question is answered
from the statements about any of them, each row naming the term its statement is about.
``type: choice`` takes one of ``choices``, each a CURIE (``ckg:causes``, also accepted without
its prefix) or an integer. ``type: source`` takes a source as :mod:`clinical_kg.sources` names
them (``curated``, ``hpoa``, an IRI, CURIE or title) and binds every source it names.

The safety check of the shipped templates (:func:`clinical_kg.sparql_safety.check_query`) is
done when the catalogue's generated files are written (``scripts/generate_catalogue_docs.py``):
:mod:`clinical_kg.catalogue_checked` holds the SHA-256 and form of every template that passed
it, and a test keeps it current. A template whose text is not there is checked when it runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from clinical_kg import resources
from clinical_kg.catalogue_checked import CHECKED, HEADERS
from clinical_kg.errors import QueryError, TermTypeError
from clinical_kg.namespaces import prefix_map
from clinical_kg.paging import Page
from clinical_kg.store import KnowledgeGraph, QueryResult
from clinical_kg.terms import TermIndex

if TYPE_CHECKING:
    from clinical_kg.grouping import GroupedResult

_HEADER = re.compile(r"^#\+ ?(.*)$")


@dataclass(frozen=True)
class Parameter:
    """A catalogue query parameter as declared in the header."""

    name: str
    vars: tuple[str, ...] = ()
    type: str = "term"
    example: str | list[str] | None = None
    description: str = ""
    multiple: bool = False
    required: bool = True
    prefer_class: str | None = None
    choices: tuple[str, ...] = ()
    default: str | list[str] | None = None


@dataclass(frozen=True)
class CatalogueQuery:
    """One named question: its header and SPARQL text."""

    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    returns: tuple[str, ...]
    text: str
    path: Path = field(compare=False)

    def values_block(self, name: str) -> re.Pattern[str]:
        """The pattern of the ``VALUES ?name { ... }`` block of a parameter."""
        return re.compile(r"VALUES\s+\?" + re.escape(name) + r"\s*\{[^{}]*\}", re.IGNORECASE)


def parse_query_file(path: Path) -> CatalogueQuery:
    """Read a catalogue ``.rq`` file and its ``#+`` header; raise QueryError if the header is wrong."""
    text = path.read_text(encoding="utf-8")
    header = HEADERS.get(text_digest(text))  # a shipped template's header, read when it was generated
    if header is None:
        header = read_header(path, text)
    for key in ("title", "description", "returns"):
        if key not in header:
            raise QueryError(f"{path}: the #+ header lacks {key!r}")
    parameters = []
    for spec in header.get("parameters") or []:
        spec = dict(spec)
        prefer = spec.pop("class", None)
        names = spec.pop("var", spec.get("name", ""))
        spec["vars"] = tuple(names) if isinstance(names, list) else (names,)
        spec["choices"] = tuple(str(c) for c in spec.get("choices") or ())
        if spec.get("default") is not None:
            spec["required"] = False
        parameters.append(Parameter(prefer_class=prefer, **spec))
    query = CatalogueQuery(
        name=path.stem,
        title=str(header["title"]),
        description=str(header["description"]),
        parameters=tuple(parameters),
        returns=tuple(header["returns"]),
        text=text,
        path=path,
    )
    for parameter in query.parameters:
        for var in parameter.vars:
            if not query.values_block(var).search(text):
                raise QueryError(f"{path}: parameter {parameter.name!r} needs a `VALUES ?{var} {{ }}` block")
        if (parameter.type == "choice") != bool(parameter.choices):
            raise QueryError(f"{path}: parameter {parameter.name!r}: `choices` go with `type: choice`")
    return query


def read_header(path: Path, text: str) -> dict[str, Any]:
    """The ``#+`` header of a query file's ``text``, read as YAML; a QueryError if it is not YAML."""
    import yaml

    # libyaml's safe loader where PyYAML was built with it: the pure-Python one took a tenth of `ckg query`.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    header_lines = [m.group(1) for line in text.splitlines() if (m := _HEADER.match(line))]
    try:
        return yaml.load("\n".join(header_lines), Loader=loader) or {}
    except yaml.YAMLError as exc:
        raise QueryError(f"{path}: the #+ header is not valid YAML: {exc}") from None


@cache
def load_catalogue(folder: Path | None = None) -> dict[str, CatalogueQuery]:
    """Every catalogue query by name (file stem), from the shipped ``queries/`` folder by default."""
    folder = folder or resources.queries_dir()
    return {path.stem: parse_query_file(path) for path in sorted(folder.glob("*.rq"), key=lambda p: p.stem)}


_QUERY_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@cache
def _query_file(path: Path) -> CatalogueQuery:
    return parse_query_file(path)


def get_query(name: str) -> CatalogueQuery:
    """A catalogue query by name, or a QueryError naming the closest names.

    Only that query's file is read (``ckg query NAME`` needs no other); the whole catalogue is
    read for the names to suggest when there is no such file.
    """
    if _QUERY_NAME.fullmatch(name) and (path := resources.queries_dir() / f"{name}.rq").is_file():
        return _query_file(path)
    catalogue = load_catalogue()
    if name not in catalogue:
        import difflib

        close = difflib.get_close_matches(name, list(catalogue), n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else "run `ckg queries` to list the catalogue"
        raise QueryError(f"no catalogue query named {name!r}", hint=hint)
    return catalogue[name]


def text_digest(text: str) -> str:
    """The SHA-256 (hexadecimal) of a template's text, as :mod:`clinical_kg.catalogue_checked` keys it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_form(query: CatalogueQuery) -> str:
    """The form (SELECT, ASK, CONSTRUCT, DESCRIBE) the safety check found for a template.

    A shipped template was checked when the catalogue was generated; any other text is checked
    now (and refused with a QueryError if it fails), so no template runs unchecked.
    """
    form = CHECKED.get(text_digest(query.text))
    if form is None:
        from clinical_kg.sparql_safety import check_query  # rdflib's SPARQL parser: only for unchecked text

        form = check_query(query.text).form
    return form


def _expand(curie: str | None) -> str | None:
    """The IRI of one of the project's CURIEs (None for none)."""
    if not curie:
        return None
    prefix, _, local = curie.partition(":")
    return prefix_map()[prefix] + local


def _choice(parameter: Parameter, value: str) -> ox.NamedNode | ox.Literal:
    """The RDF term of the choice that ``value`` names (a choice, or a CURIE choice without its prefix)."""
    wanted = value.strip().casefold()
    for choice in parameter.choices:
        if wanted in (choice.casefold(), choice.partition(":")[2].casefold()):
            if ":" in choice:
                return ox.NamedNode(_expand(choice))
            return ox.Literal(int(choice))
    raise QueryError(
        f"{parameter.name}={value!r} is not one of its choices", hint=f"choose from: {', '.join(parameter.choices)}"
    )


def _sources(index: TermIndex, value: str, parameter: str) -> list[str]:
    """The sources a ``source`` parameter's value names (:func:`clinical_kg.sources.resolve_sources`)."""
    from clinical_kg.sources import resolve_sources  # rdflib's terms: loaded only when a source is named

    return [str(source) for source in resolve_sources(index.kg, value, parameter)]


def bind_parameters(
    query: CatalogueQuery, values: dict[str, list[str]], index: TermIndex
) -> tuple[str, dict[str, list[ox.NamedNode | ox.Literal]]]:
    """The query text with every parameter's VALUES block filled with resolved terms (in N-Triples
    form, written by pyoxigraph), and the terms of each parameter."""
    known = {p.name: p for p in query.parameters}
    unknown = sorted(set(values) - set(known))
    if unknown:
        expected = ", ".join(known) or "none"
        raise QueryError(f"{query.name} has no parameter {unknown[0]!r}", hint=f"its parameters: {expected}")
    text = query.text
    bound: dict[str, list[ox.NamedNode | ox.Literal]] = {}
    for parameter in query.parameters:
        given = values.get(parameter.name, [])
        if not given and parameter.default is not None:
            given = [str(v) for v in _as_list(parameter.default)]
        if not given and parameter.required:
            example = parameter.example if isinstance(parameter.example, str) else (parameter.example or [""])[0]
            raise QueryError(
                f"{query.name} needs the parameter {parameter.name!r}",
                hint=f'for example: --param {parameter.name}="{example}"',
            )
        if len(given) > 1 and not parameter.multiple:
            raise QueryError(f"{query.name} takes one value for {parameter.name!r}, got {len(given)}")
        terms: list[ox.NamedNode | ox.Literal]
        if parameter.type == "term":
            try:
                iris = [
                    index.resolve_iri(v, parameter=parameter.name, expected=_expand(parameter.prefer_class))
                    for v in given
                ]
            except TermTypeError as exc:
                questions = _other_questions(exc, index)
                if questions:
                    exc.hint = questions + (f"; {exc.hint}" if exc.similar else "")
                raise
            # exact matches are the same term (docs/data-model.md)
            terms = [ox.NamedNode(iri) for iri in index.same_as_iris(iris)]
        elif parameter.type == "choice":
            terms = [_choice(parameter, v) for v in given]
        elif parameter.type == "source":
            terms = [ox.NamedNode(s) for v in given for s in _sources(index, v, parameter.name)]
        else:
            terms = [ox.Literal(v) for v in given]
        bound[parameter.name] = terms
        content = " ".join(dict.fromkeys(str(t) for t in terms))
        for var in parameter.vars:
            # A parameter left out drops its block: the same answers as `VALUES ?var { UNDEF }`, which
            # Virtuoso 7.2 mishandled (treatments-for-condition lost its path's constraint).
            block = f"VALUES ?{var} {{ {content} }}" if content else ""
            text = query.values_block(var).sub(lambda _m, block=block: block, text)
    return text, bound


def _other_questions(exc: TermTypeError, index: TermIndex) -> str | None:
    """ "back pain is a condition: try `ckg query causes-of-condition ...`": the catalogue questions
    whose parameter takes the kind of entity the value named (their ``-chains`` forms left out)."""
    entity = exc.entity  # its IRI as text (clinical_kg.terms): the index is built already
    if not isinstance(entity, str):
        return None
    label, kind = index.describe(entity)
    fitting = [
        (query.name, parameter.name)
        for query in load_catalogue().values()
        if not query.name.endswith("-chains")
        for parameter in query.parameters
        if parameter.type == "term" and _expand(parameter.prefer_class) in index.classes[entity]
    ]
    if not fitting:
        return None
    (first, parameter), others = fitting[0], [name for name, _ in fitting[1:]]
    also = f" (or {', '.join(others)})" if others else ""
    return f'{label} is a {kind}: try `ckg query {first} --param {parameter}="{label}"`{also}'


def run_query(kg: KnowledgeGraph, name: str, values: dict[str, list[str]] | None = None,
              index: TermIndex | None = None, page: Page | None = None) -> QueryResult:  # fmt: skip
    """Run catalogue query ``name`` with parameter values (labels, synonyms, CURIEs or IRIs).

    With a ``page`` (:mod:`clinical_kg.paging`), only those rows are returned, and the result's
    ``total`` says how many rows the whole answer has.
    """
    query = get_query(name)
    form = template_form(query)  # values are bound as RDF terms, so the checked template is what runs
    text, _ = bind_parameters(query, values or {}, index or TermIndex(kg))
    if page is None or page.whole or form != "SELECT":
        return kg.query_trusted(text, form)
    return kg.query_page(text, page)


def run_grouped(kg: KnowledgeGraph, name: str, values: dict[str, list[str]] | None = None,
                index: TermIndex | None = None, page: Page | None = None) -> GroupedResult:  # fmt: skip
    """Run catalogue query ``name`` and group its answer by the question's natural key
    (:mod:`clinical_kg.grouping`); with a ``page``, only those groups, ``total`` counting them all."""
    from clinical_kg.grouping import group_answer

    query = get_query(name)
    return group_answer(name, run_query(kg, name, values, index), page, title=query.title)


def catalogue_table(catalogue: dict[str, CatalogueQuery], link: str = "") -> str:
    """The catalogue as a Markdown table: name (linked to its section), parameters, question."""
    lines = ["| name | parameters | answers |", "|---|---|---|"]
    for query in catalogue.values():
        params = ", ".join(
            f"`{p.name}`" + (" (optional)" if not p.required else "") + (" (repeatable)" if p.multiple else "")
            for p in query.parameters
        )
        lines.append(f"| [`{query.name}`]({link}#{query.name}) | {params or 'none'} | {query.title} |")
    return "\n".join(lines) + "\n"


def catalogue_markdown(catalogue: dict[str, CatalogueQuery]) -> str:
    """The catalogue as a Markdown page (docs/queries.md), generated from the headers."""
    lines = [
        "# Query catalogue",
        "",
        "Generated from the `#+` headers of `queries/*.rq` by `scripts/generate_catalogue_docs.py`: do not edit.",
        "",
        catalogue_table(catalogue).rstrip("\n"),
    ]
    for query in catalogue.values():
        lines += ["", f"## {query.name}", "", f"**{query.title}.** {query.description}", ""]
        for p in query.parameters:
            flags = "".join([" optional;" if not p.required else "", " repeatable;" if p.multiple else ""])
            if p.choices:
                flags += f" one of {', '.join(f'`{c}`' for c in p.choices)};"
            shown = f"default: {_listing(p.default)}" if p.default is not None else f"example: {_listing(p.example)}"
            lines.append(f"- `{p.name}`:{flags} {p.description} ({shown})")
        args = " ".join(
            f'--param {p.name}="{e}"'
            for p in query.parameters
            if p.default is None and p.required
            for e in (p.example if isinstance(p.example, list) else [p.example])
        )
        lines += [
            f"- returns: {', '.join(f'`{r}`' for r in query.returns)}",
            _grouped_line(query.name),
            "",
            "```sh",
            f"ckg query {query.name} {args}".rstrip(),
            "```",
        ]
    return "\n".join(lines) + "\n"


def _grouped_line(name: str) -> str:
    """How ``--group`` groups a question's answer, for its section of docs/queries.md."""
    from clinical_kg.grouping import GROUPINGS

    grouping = GROUPINGS[name]
    listing = f", listing {_listing(list(grouping.listed))}" if grouping.listed else ""
    return (
        f"- grouped (`--group`): one row per {_listing(list(grouping.key))}{listing}, with the bases and evidence rows"
    )


def _as_list(values: str | list[str] | None) -> list:
    return values if isinstance(values, list) else [values]


def _listing(values: str | list[str] | None) -> str:
    return ", ".join(f"`{v}`" for v in _as_list(values))
