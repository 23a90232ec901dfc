"""The HTML page of an entity (the query page itself is the static ``web/index.html``)."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote


def _cell(term: dict[str, str] | None, label: dict[str, str] | None = None) -> str:
    from clinical_kg.results import compact

    if term is None:
        return ""
    if term["type"] == "uri":
        from rdflib import URIRef

        text = label["value"] if label else compact(URIRef(term["value"]))
        return (f'<a href="/entity?iri={quote(term["value"], safe="")}" title="{html.escape(term["value"])}">'
                f"{html.escape(text)}</a>")  # fmt: skip
    if term["type"] == "bnode":
        return f"_:{html.escape(term['value'])}"
    return html.escape(term["value"])


def render_entity(data: dict[str, Any]) -> str:
    """The HTML page of one entity: labels, relations out and in, evidence quotes."""
    from rdflib import URIRef

    from clinical_kg.results import compact

    iri = data["iri"]
    label_props = {"http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label",
                   "http://purl.org/dc/terms/title"}  # fmt: skip
    labels = [r["o"]["value"] for r in data["out"] if r["p"]["value"] in label_props and r["o"]["type"] == "literal"]
    title = labels[0] if labels else compact(URIRef(iri))

    def prop(row: dict[str, Any]) -> str:
        return _cell(row["p"], row.get("pLabel"))

    out_rows = "".join(f"<tr><td>{prop(r)}</td><td>{_cell(r['o'], r.get('oLabel'))}</td></tr>" for r in data["out"])
    in_rows = "".join(f"<tr><td>{_cell(r['s'], r.get('sLabel'))}</td><td>{prop(r)}</td></tr>" for r in data["in"])
    evidence = []
    for r in data["evidence"]:
        negated = " <strong>(negated)</strong>" if r.get("negated") and r["negated"]["value"] == "true" else ""
        hedge = f' <span class="hedge">{html.escape(r["hedge"]["value"])}</span>' if r.get("hedge") else ""
        source = _cell(r["source"], r.get("sourceTitle")) if r.get("source") else ""
        evidence.append(
            f'<li><p class="statement">{_cell(r["s"], r.get("sLabel"))} {prop(r)} {_cell(r["o"], r.get("oLabel"))}'
            f"{hedge}{negated}</p><blockquote>{html.escape(r['quote']['value'])}</blockquote>"
            f'<p class="source">{source} · {_cell(r["assertion"])}</p></li>'
        )
    drawing = f"/entity/neighbourhood.svg?iri={quote(iri, safe='')}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · clinical-kg</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><a href="/">clinical-kg</a> · entity</header><main>
<h1>{html.escape(title)}</h1><p class="iri"><code>{html.escape(iri)}</code></p>
<h2>Neighbourhood</h2><p><a href="{drawing}"><img class="neighbourhood" src="{drawing}"
alt="The statements around {html.escape(title)}, drawn: entities coloured by class, hedged statements dashed"></a></p>
<h2>Relations out</h2><table><thead><tr><th>property</th><th>value</th></tr></thead><tbody>{out_rows}</tbody></table>
<h2>Relations in</h2><table><thead><tr><th>subject</th><th>property</th></tr></thead><tbody>{in_rows}</tbody></table>
<h2>Evidence</h2><ul class="evidence">{"".join(evidence) or "<li>No assertion record mentions it.</li>"}</ul>
</main></body></html>
"""
