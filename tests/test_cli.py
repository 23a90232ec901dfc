"""The ckg command: help, exit codes, formats and one clear message per user error."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.query import Result

from clinical_kg import sparql_safety
from clinical_kg.cli import main
from clinical_kg.cli.group import COMMAND_MODULES
from clinical_kg.sparql_safety import CheckedQuery
from tests.conftest import ROOT
from tests.endpoint import WITHOUT_ISOLATION, listener
from tests.test_safety import DIFFERENTIAL_BYPASSES

COMMANDS = sorted(COMMAND_MODULES)
HEADLINE = ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain"]


def ckg(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(command: str) -> None:
    result = ckg(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"ckg {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_table_of_command_modules_names_every_command_of_each_module() -> None:
    # `ckg NAME` imports the module COMMAND_MODULES gives: that module alone, in a new interpreter,
    # must define the command, and the modules together define no command the table lacks.
    probe = "\n".join(
        [
            "import json, sys",
            "from clinical_kg.cli import main",
            "__import__(sys.argv[1])",
            "print(json.dumps([*main.commands]))",
        ]
    )
    defined: set[str] = set()
    for module in sorted(set(COMMAND_MODULES.values())):
        run = subprocess.run([sys.executable, "-c", probe, f"clinical_kg.cli.{module}"], capture_output=True, text=True)
        commands = set(json.loads(run.stdout))
        assert {name for name, m in COMMAND_MODULES.items() if m == module} <= commands, module
        defined |= commands
    assert defined == set(COMMAND_MODULES)


def test_version() -> None:
    from clinical_kg import __version__

    assert ckg("--version").output.strip() == f"ckg, version {__version__}"


def test_headline_query_in_every_format_gives_the_same_rows() -> None:
    as_json = Result.parse(io.StringIO(ckg(*HEADLINE, "--format", "json").output), format="json")
    as_tsv = Result.parse(io.StringIO(ckg(*HEADLINE, "--format", "tsv").output), format="tsv")
    assert len(as_json.bindings) > 0
    assert [dict(b) for b in as_json.bindings] == [dict(b) for b in as_tsv.bindings]
    csv_lines = ckg(*HEADLINE, "--format", "csv").output.splitlines()
    assert csv_lines[0].split(",")[:3] == ["condition", "conditionLabel", "relation"]
    assert len(csv_lines) - 1 >= len(as_json.bindings)  # a quote may span lines in CSV
    table = ckg(*HEADLINE).output
    assert table.rstrip().endswith(f"{len(as_json.bindings)} rows")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "conditions-causing-symptoms"], "error: no catalogue query named 'conditions-causing-symptoms'\n"
                                                   "  hint: did you mean conditions-causing-symptom,"),
        (["query", "conditions-causing-symptom"], "error: conditions-causing-symptom needs the parameter 'symptom'\n"
                                                  '  hint: for example: --param symptom="radiating leg pain"'),
        (["query", "conditions-causing-symptom", "--param", "symptom"], "error: --param 'symptom' is not KEY=VALUE"),
        (["query", "red-flags", "--param", "colour=red"], "error: red-flags has no parameter 'colour'\n"
                                                          "  hint: its parameters: condition"),
    ],
)  # fmt: skip
def test_user_errors_give_one_clear_message_and_exit_2(args: list[str], message: str) -> None:
    result = ckg(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output + result.stderr


def test_unknown_term_names_the_closest_labels() -> None:
    result = ckg("query", "conditions-causing-symptom", "--param", "symptom=radiating leg pian")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: symptom='radiating leg pian' matches no label, synonym, code or IRI")
    assert "did you mean: radiating leg pain" in result.stderr


def test_sparql_from_stdin_with_project_prefixes() -> None:
    result = ckg("sparql", "-", "--format", "csv", stdin="SELECT ?t WHERE { ?t a owl:Ontology }")
    assert result.exit_code == 0
    assert result.stdout_bytes == b"t\r\nhttps://w3id.org/clinical-kg/vocab/\r\n"


def test_sparql_construct_gives_turtle(tmp_path: Path) -> None:
    query = tmp_path / "q.rq"
    query.write_text("CONSTRUCT { ?c a ckg:Condition } WHERE { ?c a ckg:Condition }", encoding="utf-8")
    result = ckg("sparql", str(query))
    assert result.exit_code == 0
    graph = Graph().parse(data=result.output, format="turtle")
    assert len(graph) > 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "error: SERVICE is refused"),
        ("SELECT * WHERE { ?s ?p }", "error: SPARQL syntax error at line 1, column"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "error: SPARQL syntax error at line 1, column 1"),
    ],
)
def test_sparql_refusals_exit_2(text: str, message: str) -> None:
    result = ckg("sparql", "-", stdin=text)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


@pytest.mark.parametrize("template", DIFFERENTIAL_BYPASSES)
def test_sparql_parser_differential_bypasses_exit_2_and_make_no_request(template: str) -> None:
    with listener() as (url, hits):
        result = ckg("sparql", "-", stdin=template.format(url=url))
        time.sleep(0.1)
    # (a file or stdin is read with universal newlines, so the bare carriage return arrives as a line feed)
    assert result.exit_code == 2 and (
        "SPARQL parsers disagree" in result.stderr or "SERVICE is refused" in result.stderr
    )
    assert "SECRET" not in result.output
    assert hits == []


def test_sparql_runs_cut_off_from_the_network_even_past_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second wall (T1 b): with the check switched off, SERVICE reaches nothing from ckg sparql either."""
    monkeypatch.setattr(sparql_safety, "check_query", lambda text, prefixes=None: CheckedQuery("SELECT", text))
    with listener() as (url, hits):
        result = ckg("sparql", "-", stdin=f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}")
        time.sleep(0.1)
    assert result.exit_code == 2 and "unreachable" in result.stderr.lower()
    assert hits == []


def test_sparql_refuses_to_run_where_it_cannot_leave_the_network() -> None:
    """T21: fail closed, unless --allow-network-access (which still runs the check)."""
    command = [*WITHOUT_ISOLATION, sys.executable, "-m", "clinical_kg.cli", "sparql", "-", "-f", "csv"]
    query = "SELECT ?t WHERE { ?t a owl:Ontology }"
    refused = subprocess.run(command, input=query, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: cannot cut the query process off from the network")
    allowed = subprocess.run([*command[:-3], "--allow-network-access", *command[-3:]], input=query,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert allowed.returncode == 0 and allowed.stdout == "t\nhttps://w3id.org/clinical-kg/vocab/\n"
    assert allowed.stderr.startswith("warning: running with network access")


def test_sparql_format_must_fit_the_result() -> None:
    result = ckg("sparql", "-", "--format", "turtle", stdin="SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert result.exit_code == 2
    assert "does not fit a SELECT result" in result.stderr


def test_lookup_finds_synonyms_and_codes() -> None:
    result = ckg("lookup", "back spasm")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("ckgid:lower-back-muscle-spasm\t")
    assert ckg("lookup", "zzzzzz").exit_code == 2


def test_validate_exits_0_on_the_shipped_graph() -> None:
    result = ckg("validate", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["conforms"] is True


def test_stats_counts_match_the_graph() -> None:
    figures = json.loads(ckg("stats", "--json").output)
    assert figures["sources"] == 1
    assert figures["assertions"] > 150
    assert sum(figures["statements_by_relation"].values()) <= figures["assertions"]


def test_installed_command_runs_from_any_folder(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("ckg")
    completed = subprocess.run(
        [str(executable), *HEADLINE, "--format", "csv"], cwd=tmp_path, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("condition,conditionLabel,relation")
