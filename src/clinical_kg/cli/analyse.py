"""The analysis commands: hubs, path, differential, draw (networkx over the store; matplotlib to draw)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from clinical_kg.cli.group import CONTEXT, handle_errors, main, open_kg, store_option

_CLASSES = ("symptom", "condition", "cause", "treatment", "test", "location")  # analysis.questions.CLASS_NAMES


@main.command("hubs", context_settings=CONTEXT)
@click.option("--class", "classes", multiple=True, type=click.Choice(_CLASSES),
              help="Only entities of this class; repeat for several. [default: symptom, condition, cause]")  # fmt: skip
@click.option("-n", "--top", default=10, show_default=True, type=click.IntRange(min=1), help="Entities per class.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@store_option
@handle_errors
def hubs_command(classes: tuple[str, ...], top: int, as_json: bool) -> None:
    """The entities most statements meet at: degree and betweenness centrality, by class.

    Degree counts the entities a statement links an entity to; betweenness is the share of
    shortest paths between other entities through it.

    \b
    Examples:
      ckg hubs
      ckg hubs --class symptom --top 5
    """
    from clinical_kg.analysis.network import compact
    from clinical_kg.analysis.questions import ask_hubs

    answer = ask_hubs(open_kg(), classes, top)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    if answer.sampled:
        click.echo(f"betweenness estimated from {answer.sampled} sampled sources of {answer.entities} entities")
    for kind, found in answer.by_kind.items():
        width = max([len(h.label) for h in found] + [len(kind) + 1])
        click.echo(f"{kind.lower() + 's':{width}}  degree   in  out  betweenness")
        for h in found:
            click.echo(f"{h.label:{width}}  {h.degree:6} {h.in_degree:4} {h.out_degree:4}  {h.betweenness:11.4f}  "
                       f"{compact(h.entity)}")  # fmt: skip
        if not found:
            click.echo("(none)")


def _hedge(hedge: str | None) -> str:
    return f"[{hedge}]" if hedge else "[stated flatly]"


def _evidence(record: object) -> str:
    """One record's evidence on one line: its hedge, its quote or evidence code and frequency, its source."""
    from clinical_kg.analysis.network import compact

    parts = [_hedge(record.hedge)]
    if record.quote:
        parts.append(f'"{record.quote}"')
    if record.evidence_code:
        parts.append(f"evidence {compact(record.evidence_code)}")
    if record.frequency_text:
        parts.append(f"frequency {record.frequency_text}")
    parts.append(f"({compact(record.source)}, {compact(record.iri)})" if record.source else f"({compact(record.iri)})")
    return " ".join(parts)


@main.command("path", context_settings=CONTEXT)
@click.argument("start", metavar="FROM")
@click.argument("end", metavar="TO")
@click.option(
    "--max-length", default=2, show_default=True, type=click.IntRange(1, 6), help="The most links a path may have."
)
@click.option("--relations", "relations", multiple=True, metavar="RELATION",
              help="A relation links may follow: ckg:causes (default), ckg:contributesTo, ckg:aggravates, "
                   "ckg:riskFactorFor. Repeat for several; the last link may also be ckg:hasSymptom.")  # fmt: skip
@click.option("-k", "k", default=3, show_default=True, type=click.IntRange(min=1), help="How many paths to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@store_option
@handle_errors
def path_command(start: str, end: str, max_length: int, relations: tuple[str, ...], k: int, as_json: bool) -> None:
    """How FROM could lead to TO: the shortest and the k best paths of statements, with the evidence of every link.

    A path follows what sources state, forwards: links of --relations (ckg:causes unless given), the
    last one possibly a presentation link (ckg:hasSymptom); it may end at TO or a narrower term.
    One link is stated; more are inferred, and as strong as their weakest hedge.

    \b
    Examples:
      ckg path "poor posture" "radiating leg pain"
      ckg path "poor posture" "leg pain" --max-length 3 --relations ckg:causes --relations ckg:contributesTo
    """
    from clinical_kg.analysis.network import compact, label
    from clinical_kg.analysis.paths import PRESENTATION
    from clinical_kg.analysis.questions import ask_path

    answer = ask_path(open_kg(), start, end, max_length, relations, k)
    graph = answer.graph
    source, target, chain = answer.source, answer.target, answer.relations
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    rules = "links: " + ", ".join(compact(r) for r in chain)
    also = [compact(r) for r in PRESENTATION if r not in chain]
    rules += f"; the last may also be {' or '.join(also)}" if also else ""
    names = f"{label(graph, source)} -> {label(graph, target)}"
    if not answer.paths:
        click.echo(f"no path from {label(graph, source)} to {label(graph, target)} within {max_length} "
                   f"link{'s' if max_length > 1 else ''} ({rules})")  # fmt: skip
        if answer.reverse:
            click.echo(f"  but {label(graph, target)} leads to {label(graph, source)}: try `ckg path` the other way")
        else:
            click.echo("  try a larger --max-length, or more --relations")
        return
    shown = len(answer.paths)
    click.echo(f"{names}: {shown} path{'s' if shown > 1 else ''} within {max_length} "
               f"link{'s' if max_length > 1 else ''} ({rules})")  # fmt: skip
    for number, path in enumerate(answer.paths, 1):
        ending = ""
        if path.end != target:
            ending = f"; ends at {label(graph, path.end)}, narrower than {label(graph, target)}"
        click.echo(f"\n{number}. {path.basis}, weakest hedge {_hedge(path.hedge)}{ending}")
        for hop in path.hops:
            click.echo(f"   {label(graph, hop.subject)} --{compact(hop.relation)} {_hedge(hop.hedge)}--> "
                       f"{label(graph, hop.object)}")  # fmt: skip
            for record in hop.records:
                click.echo(f"       {_evidence(record)}")


def _reaches(graph: object, flag: object) -> None:
    """The conditions below the one a red flag is stated for, to which it applies by inference."""
    from clinical_kg.analysis.network import label

    if flag.reaches:
        names = ", ".join(label(graph, c) + (" (2 steps)" if steps == 2 else "") for c, steps in flag.reaches)
        click.echo(f"      applies too, inferred through ckg:broader, to: {names}")


@main.command("differential", context_settings=CONTEXT)
@click.argument("symptoms", nargs=-1, required=True, metavar="SYMPTOM...")
@click.option("-n", "--top", default=10, show_default=True, type=click.IntRange(min=1), help="How many conditions.")
@click.option("--source", "sources", multiple=True, metavar="SOURCE",
              help="Only the statements of this source, named as the catalogue's source parameter: curated, hpoa, "
                   "or a source's IRI, CURIE or title (repeat for several). [default: all]")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@store_option
@handle_errors
def differential_command(symptoms: tuple[str, ...], top: int, sources: tuple[str, ...], as_json: bool) -> None:
    """Conditions ranked by how well they explain the SYMPTOMs, red flags among them first.

    A condition explains a symptom when a source states it presents with (or causes) that symptom or
    a narrower one. Specific symptoms weigh more than common ones (information content, as
    Phenomizer computes it); a related symptom counts in part, a recorded frequency scales a
    match, and a symptom the source says the condition lacks counts against it.

    \b
    Examples:
      ckg differential numbness "muscle weakness" "leg pain"
      ckg differential "muscle spasm" stiffness --top 5 --json
    """
    from clinical_kg.analysis.network import compact, label
    from clinical_kg.analysis.questions import ask_differential

    answer = ask_differential(open_kg(), symptoms, top, sources)
    graph = answer.graph
    urgency = answer.urgency
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo("symptoms (information content): " + ", ".join(
        f"{label(graph, g)} ({answer.information[g]:.2f})" for g in answer.given))  # fmt: skip
    direct = [f for f in answer.red_flags if f.direct]
    narrower = [f for f in answer.red_flags if not f.direct]
    if direct:
        click.echo("\nRED FLAGS among these symptoms:")
    for flag in direct:
        level = urgency.get(flag.record.urgency or "", (0, "urgency not given"))[1]
        click.echo(f"  {level}: {label(graph, flag.symptom)} is a red flag for {label(graph, flag.condition)}"
                   + (f": {flag.record.advice}" if flag.record.advice else ""))  # fmt: skip
        click.echo(f"      {_evidence(flag.record)}")
        _reaches(graph, flag)
    if narrower:
        click.echo("\nRed flags narrower than these symptoms (check whether they apply):")
        for flag in narrower:
            level = urgency.get(flag.record.urgency or "", (0, "urgency not given"))[1]
            click.echo(f"  {level}: {label(graph, flag.symptom)} (narrower than {label(graph, flag.given)}) is a red "
                       f"flag for {label(graph, flag.condition)}"
                       + (f": {flag.record.advice}" if flag.record.advice else ""))  # fmt: skip
            click.echo(f"      {_evidence(flag.record)}")
            _reaches(graph, flag)
    if not answer.ranked:
        click.echo("\nno condition is stated to present with these symptoms or related ones")
        return
    click.echo(f"\n{len(answer.ranked)} of the {answer.candidates} conditions related to these symptoms, by score "
               f"(the mean information content explained, in nats; {answer.conditions} conditions have "
               "symptoms):")  # fmt: skip
    for rank, ranked in enumerate(answer.ranked, 1):
        click.echo(f"{rank:2}. {label(graph, ranked.condition)} ({compact(ranked.condition)}): score "
                   f"{ranked.score:.3f}, explains {ranked.explained} of {len(answer.given)}")  # fmt: skip
        for match in ranked.matches:
            a = match.annotation
            how = ""
            if match.how == "partly":
                how = f" (shares {label(graph, match.shared)})"
            elif a.symptom != match.given and match.how == "explains":
                how = " (narrower)"
            elif a.symptom != match.given:
                how = f" (broader: {label(graph, a.symptom)})"
            statement = f"{'not ' if a.negated else ''}{compact(a.relation)} {label(graph, a.symptom)}"
            verb = "partly explains" if match.how == "partly" else match.how
            click.echo(f"      {verb} {label(graph, match.given)}, {match.basis}: {statement}{how}")
            for record in a.records:
                click.echo(f"          {_evidence(record)}")


@main.command("draw", context_settings=CONTEXT)
@click.argument("term", required=False)
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 4), help="How many links around TERM.")
@click.option("--max-nodes", default=30, show_default=True, type=click.IntRange(2, 200),
              help="The most entities to draw (the best-linked first; hubs are not walked through).")  # fmt: skip
@click.option("--schema", is_flag=True, help="Draw the vocabulary's classes and relations instead of a TERM.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The picture to write, .svg or .png. [default: TERM.svg, or schema.svg]")  # fmt: skip
@store_option
@handle_errors
def draw_command(term: str | None, depth: int, max_nodes: int, schema: bool, out: Path | None) -> None:
    """Draw the neighbourhood of TERM (or, with --schema, the vocabulary) as SVG or PNG.

    Nodes are coloured by class and edges by relation; hedged statements are dashed, denied ones
    dotted. Entities linked to many others (hubs) are drawn but not walked through. Needs
    matplotlib: pip install "clinical-kg[draw]".

    \b
    Examples:
      ckg draw sciatica --out sciatica.svg
      ckg draw --schema --out schema.png
    """
    from clinical_kg.analysis.draw import picture_format, render_schema, write_atomically
    from clinical_kg.errors import InputError

    if schema == (term is not None):
        raise InputError("give a TERM or --schema, not both" if schema else "give a TERM to draw, or --schema",
                         hint="for example: ckg draw sciatica, or ckg draw --schema")  # fmt: skip
    if schema:
        from rdflib import Graph

        from clinical_kg.resources import vocabulary_file

        out = out or Path("schema.svg")
        picture = render_schema(Graph().parse(vocabulary_file(), format="turtle"), picture_format(out))
    else:
        from clinical_kg.analysis.questions import ask_drawing

        out = out or Path("".join(c if c.isalnum() or c in "-_" else "-" for c in term) + ".svg")
        picture = ask_drawing(open_kg(), term, picture_format(out), depth, max_nodes)
    click.echo(str(write_atomically(out, picture)))
