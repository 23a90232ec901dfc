"""Start-up: each command imports what it uses and nothing more (the import graph; nothing is timed).

Each case runs one ``ckg`` command in a new interpreter and records every module loaded by the
time it ends. Timing belongs to ``scripts/bench_cli.py``; this checks the cause of the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from clinical_kg.cli import main
code = 0
try:
    main(sys.argv[2:], prog_name="ckg")
except SystemExit as stop:
    code = stop.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""
SERVER = ("clinical_kg.server", "clinical_kg.query_worker", "starlette", "uvicorn", "asyncio")
SPARQL_PARSER = ("rdflib.plugins.sparql", "pyparsing")
QUERYING = ("oxrdflib", "pyshacl", *SPARQL_PARSER, *SERVER)  # what answering a query never needs
ANALYSIS = ("networkx", "matplotlib")
WRITING = ("tempfile", "shutil", "gzip")  # what only loads and merges need: a read-only command skips them
OTHER_COMMANDS = (
    "clinical_kg.cli.analyse",
    "clinical_kg.cli.curate",
    "clinical_kg.cli.export",
    "clinical_kg.cli.serve",
)
HEADLINE = ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain"]

# command, modules it must load (so the probe saw it work), modules it must not load
CASES = {
    "help": (["--help"], (), ("rdflib", "pyoxigraph", "pyshacl", "oxrdflib", "rich", "yaml", *ANALYSIS, *SERVER)),
    "serve help": (["serve", "--help"], (), ("rdflib", "pyoxigraph", *SERVER)),
    "query help": ([*HEADLINE[:2], "--help"], (), ("rdflib", "pyoxigraph", "yaml")),
    # the default engine's answer is written from pyoxigraph's terms: rdflib (0.13 s) is not loaded
    "query csv": ([*HEADLINE, "--format", "csv"], ("pyoxigraph",), ("rdflib", "rich", "networkx", *QUERYING, *WRITING)),
    "query table": ([*HEADLINE], ("pyoxigraph", "rich"), ("rdflib", *OTHER_COMMANDS, *QUERYING, *WRITING)),
    "query json": ([*HEADLINE, "--format", "json"], ("pyoxigraph",), ("rdflib", "rich", *QUERYING)),
    # grouped from pyoxigraph's terms too: rdflib terms are made only for the Python API's groups
    "query group": ([*HEADLINE, "--group"], ("pyoxigraph", "rich"), ("rdflib", *OTHER_COMMANDS, *QUERYING, *WRITING)),
    # the label index holds IRIs as text: a search, or a value in other words, needs no rdflib
    "lookup": (["lookup", "sciatica"], ("pyoxigraph", "Stemmer"), ("rdflib", "rich", "yaml", *QUERYING, *WRITING)),
    "query loose value": (
        [*HEADLINE[:3], "symptom=numb leg"],
        ("pyoxigraph", "rich", "Stemmer"),
        ("rdflib", *OTHER_COMMANDS, *QUERYING, *WRITING),
    ),
    "stats": (["stats"], ("networkx",), ("rich", "yaml", *QUERYING)),
    "path": (["path", "poor posture", "leg pain"], ("networkx",), ("matplotlib", "rich", "yaml", *QUERYING)),
    "differential": (["differential", "numbness"], ("networkx",), ("matplotlib", "rich", "yaml", *QUERYING)),
    "draw help": (["draw", "--help"], (), ("networkx", "matplotlib", "rdflib")),
    "export turtle": (["export", "--format", "turtle"], ("pyoxigraph",), ("rdflib", "rich", "yaml", *QUERYING)),
}


def imported(args: list[str], folder: Path) -> tuple[int, set[str]]:
    record = folder / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(record), *args], cwd=folder, capture_output=True, check=True)
    probe = json.loads(record.read_text(encoding="utf-8"))
    return probe["code"], set(probe["modules"])


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_command_imports_only_what_it_uses(case: str, tmp_path: Path) -> None:
    args, needed, unneeded = CASES[case]
    code, modules = imported(args, tmp_path)
    assert code == 0
    assert [m for m in needed if not loaded(modules, m)] == []
    assert [m for m in unneeded if loaded(modules, m)] == []


def test_the_light_names_are_those_the_modules_implement() -> None:
    from rdflib import Graph

    from clinical_kg.choices import DEFAULT_STORE, GRAPH_FORMATS, RESULT_FORMATS, STORE_NAMES
    from clinical_kg.results import WRITERS
    from clinical_kg.store import STORES

    assert sorted(STORES) == list(STORE_NAMES) and DEFAULT_STORE in STORES
    assert sorted(WRITERS) == sorted(RESULT_FORMATS)
    for fmt in GRAPH_FORMATS:
        Graph().serialize(format=fmt)  # an rdflib serialiser of that name exists
