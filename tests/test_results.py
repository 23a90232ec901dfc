"""Result formats are the W3C ones: rdflib's own SPARQL results parsers read them back."""

from __future__ import annotations

import io

import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef, Variable
from rdflib.query import Result

from clinical_kg.results import compact, to_csv, to_json, to_table, to_tsv
from clinical_kg.store import QueryResult, to_oxigraph

CKGID = "https://w3id.org/clinical-kg/id/"
XSD_INT = URIRef("http://www.w3.org/2001/XMLSchema#integer")
SAMPLE = QueryResult(
    "SELECT",
    variables=["entity", "label", "count", "note"],
    rows=[
        (URIRef(CKGID + "sciatica"), Literal("sciatica", lang="en"), Literal("3", datatype=XSD_INT), None),
        (BNode("b0"), Literal('say "hi",\tthen\nleave'), None, Literal("x")),
    ],
)  # fmt: skip


def test_json_reads_back_with_every_term_kind() -> None:
    parsed = Result.parse(io.StringIO(to_json(SAMPLE)), format="json")
    rows = [tuple(row.get(Variable(v)) for v in SAMPLE.variables) for row in parsed.bindings]
    assert rows[0] == SAMPLE.rows[0]
    assert rows[1][1:] == SAMPLE.rows[1][1:] and isinstance(rows[1][0], BNode)


def test_tsv_reads_back_with_every_term_kind() -> None:
    parsed = Result.parse(io.StringIO(to_tsv(SAMPLE)), format="tsv")
    rows = [tuple(row.get(Variable(v)) for v in SAMPLE.variables) for row in parsed.bindings]
    assert rows[0] == SAMPLE.rows[0]
    assert rows[1][1:] == SAMPLE.rows[1][1:]


def test_csv_is_rfc4180_with_lexical_values() -> None:
    assert to_csv(SAMPLE) == (
        "entity,label,count,note\r\n"
        "https://w3id.org/clinical-kg/id/sciatica,sciatica,3,\r\n"
        '_:b0,"say ""hi"",\tthen\nleave",,x\r\n'
    )
    parsed = Result.parse(io.StringIO(to_csv(SAMPLE)), format="csv")
    assert len(parsed.bindings) == 2


@pytest.mark.parametrize("writer", [to_json, to_csv, to_tsv, to_table])
def test_rows_held_as_pyoxigraph_terms_are_written_as_the_same_rdflib_terms(writer: object) -> None:
    # The default engine's answers keep pyoxigraph's terms (rdflib is not loaded to print them):
    # every writer gives the same text for them as for the rdflib terms they stand for.
    held = QueryResult("SELECT", SAMPLE.variables, terms=[tuple(to_oxigraph(t) if t is not None else None
                                                                for t in row) for row in SAMPLE.rows])  # fmt: skip
    assert isinstance(held.native_rows[0][0], ox.NamedNode)
    assert writer(held) == writer(SAMPLE)
    assert held.rows == SAMPLE.rows  # converted when asked for, the same terms
    assert held.row_count == 2 and [compact(t) for t in held.native_rows[0]] == ["ckgid:sciatica", "sciatica", "3", ""]


def test_a_plain_string_is_written_without_a_datatype_whichever_engine_held_it() -> None:
    plain = QueryResult("SELECT", ["x"], terms=[(ox.Literal("x"),)])  # pyoxigraph: datatype xsd:string
    assert to_json(plain).count('"datatype"') == 0
    assert to_tsv(plain) == '?x\n"x"\n'


def test_a_term_the_sparql_1_1_formats_cannot_hold_is_refused_by_name() -> None:
    term = ox.Literal("a", language="en", direction=ox.BaseDirection.LTR)
    directional = QueryResult("SELECT", ["x"], terms=[(term,)])
    with pytest.raises(TypeError, match="cannot write the term"):
        to_json(directional)


@pytest.mark.parametrize("answer", [True, False])
def test_ask_results(answer: bool) -> None:
    ask = QueryResult("ASK", boolean=answer)
    assert Result.parse(io.StringIO(to_json(ask)), format="json").askAnswer is answer
    assert to_csv(ask) == f"boolean\r\n{'true' if answer else 'false'}\r\n"
    assert to_tsv(ask) == f"?boolean\n{'true' if answer else 'false'}\n"


def test_table_uses_curies_and_counts_rows() -> None:
    table = to_table(SAMPLE)
    assert "ckgid:sciatica" in table and "https://w3id.org" not in table
    assert table.rstrip().endswith("2 rows")


def test_an_empty_answer_is_its_row_count_alone() -> None:
    assert to_table(QueryResult("SELECT", variables=["condition", "quote"], rows=[]), title="Causes") == "0 rows\n"


def test_table_shows_values_verbatim() -> None:
    # rich read "[sic]" as a style and ":smile:" as an emoji in the cells: a quote lost its words
    quote = "a [1] b [sic] c [bold]x[/bold] d :smile:"
    table = to_table(QueryResult("SELECT", variables=["quote"], rows=[(Literal(quote),)]), width=100)
    assert quote in table


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_and_wrap_quotes_rather_than_cut_them(width: int) -> None:
    # issue 12: tables were always 216 columns wide, and quotes were cut at 60 characters
    from clinical_kg.catalogue import run_query
    from tests.conftest import shipped

    result = run_query(shipped("oxigraph"), "conditions-causing-symptom", {"symptom": ["leg numbness"]})
    table = to_table(result, width=width)
    assert max(len(line) for line in table.splitlines()) <= width
    quote_cells = [line.split("│")[-2].strip() for line in table.splitlines() if line.startswith("│")]
    quotes = [str(row[result.variables.index("quote")]) for row in result.rows]
    if width == 120:  # wide enough for whole words: the wrapped lines give back every quote in full
        assert " ".join(" ".join(quote_cells).split()) == " ".join(" ".join(quotes).split())
    assert "…" not in table
