// clinical-kg query page: an editor with the catalogue's questions as examples, results as a
// table with labels, IRIs linked to entity pages. Talks to /sparql and /queries only.
"use strict";

const config = JSON.parse(document.getElementById("ckg-config").textContent);
const prefixes = config.prefixes;
const $ = (id) => document.getElementById(id);
const RESULTS_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9";
let catalogue = [];
let lastRequest = null;

function prefixBlock() {
  return Object.entries(prefixes).map(([p, ns]) => `PREFIX ${p}: <${ns}>`).join("\n");
}

const STARTER = `${prefixBlock()}

# Conditions with the most recorded symptoms
SELECT ?condition ?conditionLabel (COUNT(?symptom) AS ?symptoms) WHERE {
  ?condition a ckg:Condition ; ckg:hasSymptom ?symptom .
  OPTIONAL { ?condition skos:prefLabel ?conditionLabel }
}
GROUP BY ?condition ?conditionLabel
ORDER BY DESC(?symptoms) ?conditionLabel
LIMIT 20
`;

function compact(iri) {
  let best = null;
  for (const [p, ns] of Object.entries(prefixes)) {
    if (iri.startsWith(ns) && iri !== ns && (!best || ns.length > best[1].length)) best = [p, ns];
  }
  return best ? `${best[0]}:${iri.slice(best[1].length)}` : `<${iri}>`;
}

function entityLink(iri, text) {
  const a = document.createElement("a");
  a.href = "/entity?iri=" + encodeURIComponent(iri);
  a.title = iri;
  a.textContent = text;
  return a;
}

function termCell(td, term, label) {
  if (!term) return;
  if (term.type === "uri") {
    td.appendChild(entityLink(term.value, label ? label.value : compact(term.value)));
  } else if (term.type === "bnode") {
    td.textContent = "_:" + term.value;
  } else {
    td.textContent = term.value;
    if (term.value.length > 60) td.className = "long";
  }
  if (term.type === "uri") td.className = "term";
}

function renderBindings(data) {
  const vars = data.head.vars;
  const labelled = new Set(vars.filter((v) => vars.includes(v + "Label")));
  const shown = vars.filter((v) => !(v.endsWith("Label") && labelled.has(v.slice(0, -5))));
  const table = document.createElement("table");
  table.id = "result-table";
  const head = table.createTHead().insertRow();
  for (const v of shown) {
    const th = document.createElement("th");
    th.textContent = v;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of data.results.bindings) {
    const tr = body.insertRow();
    for (const v of shown) {
      termCell(tr.insertCell(), row[v], labelled.has(v) ? row[v + "Label"] : null);
    }
  }
  return table;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function send(request) {
  lastRequest = request;
  $("download").disabled = true;
  $("results").replaceChildren();
  setStatus("Running…", false);
  const started = performance.now();
  let response;
  try {
    response = await fetch(request.url, { ...request.init, headers: { ...request.init.headers, Accept: RESULTS_ACCEPT } });
  } catch (err) {
    setStatus("The endpoint did not answer: " + err, true);
    return;
  }
  const ms = Math.round(performance.now() - started);
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    setStatus(`${response.status} ${response.statusText}\n${await response.text()}`, true);
    return;
  }
  const truncated = response.headers.get("X-CKG-Truncated");
  const note = truncated ? ` (cut at ${config.maxRows} rows: add a LIMIT or narrow the query)` : "";
  if (type.startsWith("application/sparql-results+json")) {
    const data = await response.json();
    if ("boolean" in data) {
      setStatus(`${data.boolean ? "yes" : "no"} (${ms} ms)`, false);
      return;
    }
    const n = data.results.bindings.length;
    setStatus(`${n} row${n === 1 ? "" : "s"} in ${ms} ms${note}`, false);
    $("results").appendChild(renderBindings(data));
  } else {
    const pre = document.createElement("pre");
    pre.className = "graph";
    pre.textContent = await response.text();
    setStatus(`graph in ${ms} ms${note}`, false);
    $("results").appendChild(pre);
  }
  $("download").disabled = false;
}

function runEditor() {
  const body = new URLSearchParams({ query: $("editor").value });
  send({ url: "/sparql", init: { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } } });
}

function askUrl() {
  const name = $("example").value;
  const params = new URLSearchParams();
  for (const input of $("param-fields").querySelectorAll("input")) {
    for (const value of input.value.split(";").map((v) => v.trim()).filter(Boolean)) params.append(input.name, value);
  }
  const qs = params.toString();
  return `/queries/${encodeURIComponent(name)}${qs ? "?" + qs : ""}`;
}

async function download() {
  if (!lastRequest) return;
  const init = { ...lastRequest.init, headers: { ...lastRequest.init.headers, Accept: "text/csv" } };
  const response = await fetch(lastRequest.url, init);
  if (!response.ok) {
    setStatus(`${response.status} ${await response.text()}`, true);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = ($("example").value || "results") + ".csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

function chooseExample() {
  const query = catalogue.find((q) => q.name === $("example").value);
  const fields = $("param-fields");
  fields.replaceChildren();
  if (!query) {
    $("example-description").textContent = "";
    $("params").hidden = true;
    $("editor").value = STARTER;
    return;
  }
  $("example-description").textContent = query.description;
  $("editor").value = query.sparql;
  for (const p of query.parameters) {
    const label = document.createElement("label");
    label.htmlFor = "param-" + p.name;
    label.textContent = p.name + (p.multiple ? " (several: separate with ;)" : "") + (p.required ? "" : " (optional)");
    const input = document.createElement("input");
    input.id = "param-" + p.name;
    input.name = p.name;
    input.title = p.description || "";
    input.value = Array.isArray(p.example) ? p.example.join("; ") : p.example || "";
    input.addEventListener("input", () => ($("ask-url").textContent = askUrl()));
    fields.append(label, input);
  }
  $("params").hidden = false;
  $("ask-url").textContent = askUrl();
}

async function init() {
  $("limits").textContent = `· read-only · ${config.timeout} s and ${config.maxRows} rows per query · v${config.version}`;
  $("editor").value = STARTER;
  $("run").addEventListener("click", runEditor);
  $("download").addEventListener("click", download);
  $("editor").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      runEditor();
    }
  });
  $("params").addEventListener("submit", (event) => {
    event.preventDefault();
    send({ url: askUrl(), init: { method: "GET", headers: {} } });
  });
  $("example").addEventListener("change", chooseExample);
  const response = await fetch("/queries", { headers: { Accept: "application/json" } });
  catalogue = await response.json();
  for (const q of catalogue) {
    const option = document.createElement("option");
    option.value = q.name;
    option.textContent = `${q.title} (${q.name})`;
    $("example").appendChild(option);
  }
  document.body.dataset.ready = "true";
}

init();
