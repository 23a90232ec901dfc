"""Paging of catalogue answers (clinical_kg.paging): pages put together are the whole answer, in order."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clinical_kg.catalogue import load_catalogue, run_query
from clinical_kg.cli import main
from clinical_kg.errors import QueryError
from clinical_kg.paging import Page, count_text, parse_page
from clinical_kg.store import open_graph


@pytest.fixture(scope="module", params=["oxigraph", "memory"])
def kg(request: pytest.FixtureRequest):
    return open_graph(request.param)


def example_values(name: str) -> dict[str, list[str]]:
    values = {}
    for parameter in load_catalogue()[name].parameters:
        example = parameter.example if isinstance(parameter.example, list) else [parameter.example]
        values[parameter.name] = [str(e) for e in example if e is not None]
    return {k: v for k, v in values.items() if v}


@pytest.mark.parametrize("name", sorted(load_catalogue()))
def test_pages_put_together_are_the_whole_answer(kg, name: str) -> None:
    values = example_values(name)
    whole = run_query(kg, name, values)
    assert whole.total is None
    rows, offset = [], 0
    while True:
        page = run_query(kg, name, values, page=Page(7, offset))
        assert page.total == len(whole.rows) and page.offset == offset and page.variables == whole.variables
        rows += page.rows
        if len(page.rows) < 7:
            break
        offset += 7
    assert rows == whole.rows


def test_count_text_counts_the_select_under_its_prologue() -> None:
    text = "PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>\n# a comment\nSELECT DISTINCT ?a WHERE { ?a ?b ?c }\n"
    assert count_text(text) == (
        "PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>\n# a comment\n"
        "SELECT (COUNT(*) AS ?total) WHERE {\n{\nSELECT DISTINCT ?a WHERE { ?a ?b ?c }\n}\n}\n"
    )
    assert Page(10, 20).text("SELECT * WHERE {} ORDER BY ?a") == "SELECT * WHERE {} ORDER BY ?a\nLIMIT 10 OFFSET 20\n"


@pytest.mark.parametrize(
    ("page", "kept"),
    [(Page(3, 2), [2, 3, 4]), (Page(5, 8), [8, 9]), (Page(3, 10), []), (Page(3, 25), []), (Page(None, 7), [7, 8, 9]),
     (Page(100), list(range(10)))],
)  # fmt: skip
def test_take_keeps_the_page_and_counts_every_row(page: Page, kept: list[int]) -> None:
    assert page.take(iter(range(10))) == (kept, 10)


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [("0", None, "limit 0 is not a whole number from 1 to 100,000"), ("ten", None, "limit 'ten' is not a whole number"),
     ("5", "-1", "offset -1 is not a whole number of 0 or more"), ("1e3", None, "limit '1e3' is not a whole number"),
     ("100001", None, "limit 100001 is not a whole number from 1 to 100,000")],
)  # fmt: skip
def test_bad_pages_are_refused(limit: str, offset: str | None, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_page(limit, offset)
    assert raised.value.message == message


def test_ckg_query_limit_and_offset_say_which_rows_of_how_many() -> None:
    args = ["query", "causes-of-condition", "--param", "condition=lower back muscle spasm", "--format", "csv"]
    whole = CliRunner().invoke(main, args)
    paged = CliRunner().invoke(main, [*args, "--limit", "3", "--offset", "2"])
    assert whole.exit_code == paged.exit_code == 0
    lines = whole.stdout.splitlines()
    assert paged.stdout.splitlines() == [lines[0], *lines[3:6]]
    total = len(lines) - 1
    assert paged.stderr == f"rows 3-5 of {total}; the next page: --offset 5\n"
    last = CliRunner().invoke(main, [*args, "--limit", "3", "--offset", str(total)])
    assert last.stderr == f"no rows of {total}\n"
