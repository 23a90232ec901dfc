"""The memory store's join order (clinical_kg.memory_plan): connected steps, the same answers."""

from __future__ import annotations

from rdflib import RDF, Graph, Literal, Namespace, Variable

from clinical_kg.memory_plan import connected_order, plan_queries_on

EX = Namespace("http://example.org/")
r1, r2, c, n, s = (Variable(v) for v in ("record1", "record2", "condition", "node", "symptom"))


def test_each_pattern_joins_those_before_it_and_type_patterns_wait() -> None:
    chain = [
        (r1, RDF.type, EX.Assertion),
        (r2, RDF.type, EX.Assertion),
        (r1, RDF.subject, c),
        (r1, RDF.object, n),
        (r2, RDF.subject, n),
        (r2, RDF.object, s),
    ]
    # rdflib's own order puts both type patterns first: every pair of records before a join.
    assert connected_order(chain) == [chain[0], chain[2], chain[3], chain[4], chain[1], chain[5]]
    # with the node bound already (by a join outside), the chain starts from it; a check comes first
    assert connected_order(chain, bound={n}) == [chain[3], chain[0], chain[2], chain[4], chain[1], chain[5]]


def _graph() -> Graph:
    graph = Graph()
    for i in range(30):
        a, b = EX[f"a{i}"], EX[f"b{i}"]
        graph.add((a, RDF.type, EX.Assertion))
        graph.add((a, RDF.subject, EX[f"x{i}"]))
        graph.add((a, RDF.object, EX[f"y{i % 7}"]))
        graph.add((b, RDF.type, EX.Assertion))
        graph.add((b, RDF.subject, EX[f"y{i % 5}"]))
        graph.add((b, RDF.object, Literal(i)))
    return graph


QUERY = """PREFIX ex: <http://example.org/> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?record1 ?record2 ?end WHERE { ?record1 a ex:Assertion . ?record2 a ex:Assertion .
  ?record1 rdf:object ?node . ?record2 rdf:subject ?node . ?record2 rdf:object ?end }"""


def test_a_planned_graph_answers_as_rdflib_does() -> None:
    plain, planned = _graph(), plan_queries_on(_graph())
    expected = sorted(tuple(row) for row in plain.query(QUERY))
    assert len(expected) == 132 and sorted(tuple(row) for row in planned.query(QUERY)) == expected


SPLIT = """PREFIX ex: <http://example.org/> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?record1 ?record2 ?end WHERE { ?record1 rdf:object ?node . VALUES ?type { ex:Assertion }
  ?record1 a ?type . ?record2 rdf:subject ?node . ?record2 rdf:object ?end }"""


def test_patterns_after_a_values_block_get_the_bindings_before_it(monkeypatch) -> None:
    """A VALUES block splits a group's patterns; rdflib then matched the second run unbound, over the
    whole graph. The planned graph joins it with the bindings of the first: the same answers."""
    import clinical_kg.memory_plan as memory_plan

    lazy = []

    def counted(ctx, join):
        lazy.append(join.p2.name)
        return memory_plan_join(ctx, join)

    memory_plan_join = memory_plan.evalLazyJoin
    monkeypatch.setattr(memory_plan, "evalLazyJoin", counted)
    plain, planned = _graph(), plan_queries_on(_graph())
    expected = sorted(tuple(row) for row in plain.query(SPLIT))
    assert not lazy
    assert len(expected) == 132 and sorted(tuple(row) for row in planned.query(SPLIT)) == expected
    assert lazy == ["BGP"]
