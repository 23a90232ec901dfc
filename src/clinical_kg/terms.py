"""Turning what a user types (a label, synonym, CURIE, code or IRI) into a graph term.

The index is built with one SPARQL query over the entities' preferred labels, synonyms and
cross-references, so it costs the same on every engine.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from clinical_kg.errors import AmbiguousTermError, TermTypeError, UnknownTermError
from clinical_kg.namespaces import prefix_map
from clinical_kg.results import compact_iri
from clinical_kg.store import KnowledgeGraph

if TYPE_CHECKING:
    import snowballstemmer
    from rdflib import URIRef

# The index is read with three simple queries and joined here: joined in SPARQL, Oxigraph takes
# 36 s for the labels and types of an HPO import (53k names, 300k typed nodes), here about 4 s.
_NAMES_QUERY = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?entity ?kind ?text WHERE {
  {
    ?entity skos:prefLabel ?text . BIND("label" AS ?kind)
  } UNION {
    ?entity skos:altLabel ?text . BIND("synonym" AS ?kind)
  } UNION {
    ?xref rdfs:subPropertyOf ckg:xref . ?entity ?xref ?text . BIND(STRAFTER(STR(?xref), STR(ckg:)) AS ?kind)
  }
}
"""
_TYPES_QUERY = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
SELECT ?entity ?direct WHERE { ?entity a ?direct FILTER (?direct NOT IN (ckg:Assertion, ckg:RetractedAssertion)) }
"""
_SUBCLASS_QUERY = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class ?super WHERE { ?class rdfs:subClassOf ?super }
"""

_SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"

_CLASS_LABELS_QUERY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class ?label WHERE { ?class a owl:Class ; rdfs:label ?label }
"""

# Exact lookups: the VALUES block holds terms in N-Triples form (pyoxigraph's), never raw user text.
_EXACT_QUERY = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?entity WHERE { VALUES ?name { $NAMES } ?entity skos:prefLabel|skos:altLabel ?name . $FITS }
"""
# ... of the class a parameter asks for (or of a class below it): $CLASS an IRI in N-Triples form.
_EXACT_FITS = "?entity a/rdfs:subClassOf* $CLASS ."
_TYPED_QUERY = "ASK { $ENTITY a ?class }"
# The entities of the graph that are the same as the given ones: skos:exactMatch either way.
_SAME_QUERY = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?same WHERE {
  VALUES ?entity { $ENTITIES }
  { ?entity skos:exactMatch ?same } UNION { ?same skos:exactMatch ?entity }
  ?same a ?class .
}
"""
_FITS_QUERY = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
ASK { $ENTITY a/rdfs:subClassOf* $CLASS }
"""
# $TERMS and $ENTITY are IRIs in N-Triples form, never raw user text.
_NARROWER_QUERY = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
SELECT ?broader ?narrower WHERE { VALUES ?broader { $TERMS } ?narrower ckg:broader ?broader }
"""
_REPLACEMENT_QUERY = """
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?replacement WHERE { $ENTITY owl:deprecated true ; dcterms:isReplacedBy ?replacement }
"""

# Codes that are CURIEs already (HP:0011868) and schemes given with a prefix (MESH:D012585).
_XREF_PREFIXES = {"hpo": "", "mondo": "", "chebi": "", "icd10": "ICD10:", "icd10cm": "ICD10CM:", "mesh": "MESH:",
                  "snomedct": "SNOMEDCT:", "umls": "UMLS:"}  # fmt: skip
_CURIE = re.compile(r"^([A-Za-z][\w.-]*):(\S+)$")


def normalise(text: str) -> str:
    """Case-folded text with white space folded: how labels are compared."""
    return " ".join(text.split()).casefold()


_FILLERS = frozenset({"a", "an", "the", "my", "your", "his", "her", "their", "our"})


def loose_key(text: str) -> str:
    """A forgiving key: no articles or possessives, simple plurals made singular ("spasms in
    my lower back" and "spasm in the lower back" meet)."""
    words = [w for w in normalise(text).replace("’", "'").split() if w not in _FILLERS]
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


# Words that say nothing about which entity is meant: "numbness in my leg" is "leg numbness".
_STOP_WORDS = frozenset({"a", "an", "the", "my", "your", "his", "her", "their", "our", "in", "of", "on", "at", "to",
                         "and", "or", "with"})  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@cache
def _stemmer() -> snowballstemmer.stemmer:
    import snowballstemmer  # only when a value is not a name as written

    # With PyStemmer installed (a dependency) this is its C stemmer: the same stems, 25 times faster
    # than snowballstemmer's Python one, whose import also loads the stemmers of 30 languages.

    return snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """The words of a text, case-folded: runs of letters and digits (an apostrophe inside a word
    keeps it whole; hyphens and other punctuation separate words)."""
    return _WORD.findall(text.casefold())


def stems(text: str) -> frozenset[str]:
    """The Snowball (English) stems of the words of ``text`` that name something (no articles,
    possessives or small prepositions): "numb leg" and "leg numbness" both give {numb, leg}."""
    return frozenset(_stemmer().stemWords([w for w in words(text) if w not in _STOP_WORDS]))


@dataclass(frozen=True)
class Match:
    """One entity found for a text: its IRI, preferred label, class and the name that matched.

    ``iri`` is the IRI as text from :meth:`TermIndex.lookup`, an rdflib ``URIRef`` (a ``str``
    too) from the Python API (:meth:`clinical_kg.api.KnowledgeGraph.lookup`).
    """

    iri: str
    label: str
    type: str
    matched: str
    how: str


def _closure(cls: str, supers: dict[str, set[str]]) -> set[str]:
    """The class and every class above it (``rdfs:subClassOf*``)."""
    found, todo = {cls}, [cls]
    while todo:
        for sup in supers.get(todo.pop(), ()):
            if sup not in found:
                found.add(sup)
                todo.append(sup)
    return found


class TermIndex:
    """Labels, synonyms and codes of every entity, for resolving parameter values.

    The index is built on first use: a value that is exactly an entity's label or synonym is
    resolved with one indexed lookup instead (the index reads every label of the graph). It
    holds IRIs as text (pyoxigraph's values), so neither it nor ``ckg lookup`` loads rdflib.
    """

    _INDEXED = frozenset({"by_key", "by_loose_key", "by_stems", "names", "label", "types", "classes", "class_labels"})

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg

    def __getattr__(self, name: str) -> object:
        if name not in TermIndex._INDEXED:
            raise AttributeError(name)
        self._build()
        return getattr(self, name)

    def _build(self) -> None:
        kg = self.kg
        self.by_key: dict[str, set[str]] = defaultdict(set)  # normalised name -> IRIs
        self.by_loose_key: dict[str, set[str]] = defaultdict(set)
        self.by_stems: dict[str, frozenset[str]] = {}  # normalised label or synonym (not code) -> its stems
        self.names: dict[str, str] = {}  # normalised name -> name as written
        self.label: dict[str, str] = {}  # IRI -> preferred label
        self.types: dict[str, set[str]] = defaultdict(set)  # IRI -> labels of its vocabulary classes
        self.classes: dict[str, set[str]] = defaultdict(set)  # IRI -> its classes and those above them
        self.class_labels: dict[str, str] = {
            cls.value: label.value
            for cls, label in kg.query_trusted(_CLASS_LABELS_QUERY).terms
            if isinstance(label, ox.Literal) and label.language == "en"
        }
        direct_classes: dict[str, set[str]] = defaultdict(set)
        for entity, direct in kg.query_trusted(_TYPES_QUERY).terms:
            direct_classes[entity.value].add(direct.value)
        supers: dict[str, set[str]] = defaultdict(set)
        for cls, sup in kg.query_trusted(_SUBCLASS_QUERY).terms:
            supers[cls.value].add(sup.value)
        vocabulary = prefix_map()["ckg"]
        for node, kind_term, text in kg.query_trusted(_NAMES_QUERY).terms:
            if not isinstance(node, ox.NamedNode) or node.value not in direct_classes:
                continue  # untyped nodes are not entities, nor are blank nodes
            entity, kind, name = node.value, kind_term.value, text.value
            if entity not in self.classes:
                for direct in direct_classes[entity]:
                    self.classes[entity] |= _closure(direct, supers)
                    if direct in self.class_labels and direct.startswith(vocabulary):
                        self.types[entity].add(self.class_labels[direct])
                if not self.types[entity] and _SKOS_CONCEPT in direct_classes[entity]:
                    self.types[entity].add("concept")  # an imported term outside the vocabulary's classes
            if kind == "label":
                self.label[entity] = name
            elif kind in _XREF_PREFIXES:
                name = _XREF_PREFIXES[kind] + name
            key = normalise(name)
            if kind in ("label", "synonym") and key not in self.by_stems:
                self.by_stems[key] = stems(name)
            self.by_key[key].add(entity)
            self.by_loose_key[loose_key(name)].add(entity)
            self.names.setdefault(key, name)

    def describe(self, iri: str) -> tuple[str, str]:
        """(preferred label, type) of an entity (its IRI, as text or a term), for messages and lookup output."""
        iri = str(iri)
        return self.label.get(iri) or compact_iri(iri), ", ".join(sorted(self.types.get(iri, ()))) or "?"

    def lookup(self, text: str, limit: int = 10) -> list[Match]:
        """Entities whose label, synonym or code is ``text``, or whose label or synonym holds its words.

        In this order: the entity an IRI or CURIE names ("identifier"); names equal to the text,
        case and spacing aside ("exact"); labels and synonyms holding every word of the text in
        any order, compared by word stems, so "numb leg" finds "leg numbness" and "ice" does not
        find "practice" ("words", fewest other words first); then labels and synonyms spelt
        alike that share a word stem with the text ("similar"). Codes match only exactly: a
        MeSH or HPO code is never "similar" to another. An exact match brings its narrower
        entities ("narrower": a term split into several, such as radiating leg pain), and the
        identifier of a merged entity brings the one that replaced it.
        """
        key = normalise(text)
        found: dict[str, Match] = {}

        def add(keys: list[str], how: str) -> None:
            for k in keys:
                for iri in sorted(self.by_key[k]):
                    if iri not in found:
                        label, kind = self.describe(iri)
                        found[iri] = Match(iri, label, kind, self.names[k], how)

        iri = self._iri(text)
        if iri is not None:
            label, kind = self.describe(iri)
            found[iri] = Match(iri, label, kind, compact_iri(iri), "identifier")
        retired = self._retired(text)
        if retired is not None:
            old, iri = retired
            label, kind = self.describe(iri)
            found[iri] = Match(iri, label, kind, compact_iri(old), "retired identifier, replaced by this")
        add([key] if key in self.by_key else [], "exact")
        exact = [m.iri for m in found.values()]
        if exact:
            # A term split into narrower ones (radiating leg pain) shows them with it.
            terms = " ".join(str(ox.NamedNode(e)) for e in exact)
            answer = self.kg.query_trusted(_NARROWER_QUERY.replace("$TERMS", terms))
            rows = [(broader.value, narrower.value) for broader, narrower in answer.terms]
            for broader, narrower in sorted(rows, key=lambda row: (self.describe(row[1])[0].casefold(), row[1])):
                if narrower not in found and narrower in self.classes:
                    label, kind = self.describe(narrower)
                    found[narrower] = Match(narrower, label, kind, self.describe(broader)[0], "narrower")
        wanted = stems(text)
        if wanted:
            holding = [k for k, s in self.by_stems.items() if wanted <= s and k != key]
            add(sorted(holding, key=lambda k: (len(self.by_stems[k] - wanted), k)), "words")
            import difflib  # only for a text that is no name as written

            alike = difflib.get_close_matches(key, list(self.by_stems), n=limit, cutoff=0.75)
            add([k for k in alike if self.by_stems[k] & wanted], "similar")
        return list(found.values())[:limit]

    def _iri(self, text: str) -> str | None:
        """The entity an IRI or a CURIE of the project's prefixes names, if the graph types it."""
        value = text.strip()
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        if value.startswith(("http://", "https://")):
            iri = value
        elif (curie := _CURIE.match(value)) and curie.group(1) in prefix_map():
            iri = prefix_map()[curie.group(1)] + curie.group(2)
        else:
            return None
        if any(c in iri for c in '<>"{}|^`\\ '):
            return None  # not an IRI; and never pasted into a query
        typed = self.kg.query_trusted(_TYPED_QUERY.replace("$ENTITY", str(ox.NamedNode(iri))), "ASK")
        return iri if typed.boolean else None

    def same_as(self, entities: list[URIRef]) -> list[URIRef]:
        """``entities`` and every entity of the graph that is the same as one of them (``skos:exactMatch``
        either way: a curated entity and the imported HPO term it matches), in that order.

        The catalogue asks about all of them: a question about muscle spasm is answered from the
        article's statements about it and from the HPO annotations of HP:0003394.
        """
        from rdflib import URIRef

        return [URIRef(iri) for iri in self.same_as_iris([str(entity) for entity in entities])]

    def same_as_iris(self, iris: list[str]) -> list[str]:
        """:meth:`same_as` for IRIs given and returned as text."""
        if not iris:
            return []
        values = " ".join(dict.fromkeys(str(ox.NamedNode(iri)) for iri in iris))
        rows = self.kg.query_trusted(_SAME_QUERY.replace("$ENTITIES", values)).terms
        found = sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))
        return list(dict.fromkeys([*iris, *found]))

    def _fits(self, entity: str, expected: str) -> bool:
        """True when ``entity`` is an instance of ``expected`` or of a class below it (IRIs, as text or terms)."""
        fits = _FITS_QUERY.replace("$ENTITY", str(ox.NamedNode(str(entity))))
        fits = fits.replace("$CLASS", str(ox.NamedNode(str(expected))))
        return bool(self.kg.query_trusted(fits, "ASK").boolean)

    def _retired(self, text: str) -> tuple[str, str] | None:
        """(retired IRI, its replacement) when ``text`` is the IRI or CURIE of an entity that was
        merged into another (``owl:deprecated``, ``dcterms:isReplacedBy``), else None."""
        value = text.strip().removeprefix("<").removesuffix(">")
        curie = _CURIE.match(value)
        if curie and curie.group(1) in prefix_map():
            value = prefix_map()[curie.group(1)] + curie.group(2)
        if not value.startswith(prefix_map()["ckgid"]) or any(c in value for c in '<>"{}|^`\\ '):
            return None
        rows = self.kg.query_trusted(_REPLACEMENT_QUERY.replace("$ENTITY", str(ox.NamedNode(value)))).terms
        return (value, rows[0][0].value) if rows else None

    def resolve(self, text: str, parameter: str = "value", expected: URIRef | None = None) -> URIRef:
        """The one entity that ``text`` names, or a clear error with the closest labels.

        Exact names (any case) win; otherwise a forgiving match (no articles or possessives,
        plurals made singular) is tried. ``expected`` is the class the parameter asks for: it
        settles ambiguity, and an entity of another class is refused with the names of
        entities of the right class.
        """
        from rdflib import URIRef

        return URIRef(self.resolve_iri(text, parameter, None if expected is None else str(expected)))

    def resolve_iri(self, text: str, parameter: str = "value", expected: str | None = None) -> str:
        """:meth:`resolve` with the class and the entity as IRIs in text. A label or synonym as
        written is settled by one indexed query, without building the index (or loading rdflib)."""
        exact = self._exact(text, expected)
        if exact is not None:
            return exact
        return self._resolve_loosely(text, parameter, expected)

    def _resolve_loosely(self, text: str, parameter: str, expected: str | None) -> str:
        iri = self._iri(text)
        if iri is None and (retired := self._retired(text)) is not None:
            iri = retired[1]
        candidates = [iri] if iri is not None else sorted(self.by_key.get(normalise(text), ()))
        if not candidates:
            candidates = sorted(self.by_loose_key.get(loose_key(text), ()))
        if not candidates and stems(text):
            same = {e for k, s in self.by_stems.items() if s == stems(text) for e in self.by_key[k]}
            candidates = sorted(same)  # the same words in another order or form: "numb leg", "leg numbness"
        if expected is not None and candidates:
            fitting = [c for c in candidates if self._fits(c, expected)]
            if not fitting:
                self._wrong_type(text, parameter, candidates[0], expected)
            candidates = fitting
        if len(candidates) > 1 and set(candidates) <= set(self.same_as_iris([candidates[0]])):
            # one term under several IRIs (a curated entity and its exact match): the curated one
            curated = [c for c in candidates if c.startswith(prefix_map()["ckgid"])]
            candidates = curated[:1] or candidates[:1]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            listing = "; ".join(f"{compact_iri(c)} ({self.describe(c)[0]}, {self.describe(c)[1]})" for c in candidates)
            raise AmbiguousTermError(
                f"{parameter}={text!r} names several entities: {listing}",
                hint="give the CURIE of the one you mean, e.g. " + compact_iri(candidates[0]),
            )
        close = [m.label for m in self.lookup(text, limit=5) if m.how != "identifier"]
        hint = (
            f"did you mean: {', '.join(dict.fromkeys(close))}?" if close else "try `ckg lookup TEXT` to search labels"
        )
        raise UnknownTermError(f"{parameter}={text!r} matches no label, synonym, code or IRI in the graph", hint=hint)

    def _exact(self, text: str, expected: str | None) -> str | None:
        """The one entity whose label or synonym is ``text`` as typed (or in lower case), of the
        expected class, found by an indexed lookup; None when that does not settle it."""
        name = " ".join(text.split())
        if not name or name.startswith("<") or _CURIE.match(name) or name.startswith(("http://", "https://")):
            return None
        # As typed, in lower case (curated labels) and capitalised (terminologies: "Low back pain").
        forms = (name, name.lower(), name.capitalize())
        values = " ".join(dict.fromkeys(str(ox.Literal(v, language="en")) for v in forms))
        fits = "" if expected is None else _EXACT_FITS.replace("$CLASS", str(ox.NamedNode(expected)))
        rows = self.kg.query_trusted(_EXACT_QUERY.replace("$NAMES", values).replace("$FITS", fits)).terms
        found = sorted({row[0].value for row in rows if isinstance(row[0], ox.NamedNode)})
        if len(found) > 1:  # a curated entity and the same name in an imported terminology: the curated one
            found = [entity for entity in found if entity.startswith(prefix_map()["ckgid"])]
        return found[0] if len(found) == 1 else None

    def _wrong_type(self, text: str, parameter: str, found: str, expected: str) -> None:
        label, kind = self.describe(found)
        wanted = self.class_labels.get(expected, compact_iri(expected))
        similar = [m.label for m in self.lookup(text, limit=20) if expected in self.classes[m.iri]][:5]
        hint = (
            f"{wanted} entities with a similar name: {', '.join(similar)}"
            if similar
            else (f"`ckg lookup` lists entities with their type; {parameter} needs a {wanted}")
        )
        raise TermTypeError(
            f"{parameter}={text!r} names {compact_iri(found)} ({label}), a {kind}, not a {wanted}",
            hint=hint,
            entity=found,
            similar=bool(similar),
        )
