// clinical-kg query page: the catalogue's questions, a SPARQL editor (YASQE, from the vendored YASGUI
// bundle) with the prefixes folded and completion of the project's terms, and the results (YASR) as a
// table of labels linked to the entity pages. The page state is in the URL (?query=... or
// ?question=NAME&param=value), so a result can be bookmarked and shared. Talks to /sparql and
// /queries only.
"use strict";

const config = JSON.parse(document.getElementById("ckg-config").textContent);
const prefixes = config.prefixes;
const $ = (id) => document.getElementById(id);
const { Yasqe, Yasr } = window.Yasgui;
const RESULTS_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9";
const page = { catalogue: [], cspViolations: [] }; // also window.ckgPage, for the browser test
window.ckgPage = page;
document.addEventListener("securitypolicyviolation", (event) => page.cspViolations.push(event.violatedDirective));

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

// ---------------------------------------------------------------- results: labels linked to entity pages

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
    td.className = "term";
  } else if (term.type === "bnode") {
    td.textContent = "_:" + term.value;
  } else {
    td.textContent = term.value;
    if (term.value.length > 60) td.className = "long";
  }
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
    for (const v of shown) termCell(tr.insertCell(), row[v], labelled.has(v) ? row[v + "Label"] : null);
  }
  return table;
}

// A YASR plugin: the rows with each IRI shown as its label (?xLabel beside ?x) linking to its entity page.
class LabelTable {
  constructor(yasr) {
    this.yasr = yasr;
    this.priority = 20;
    this.label = "Labels";
    this.helpReference = "/";
  }

  canHandleResults() {
    const results = this.yasr.results;
    return !!results && !results.hasError() && results.getVariables().length > 0;
  }

  draw() {
    this.yasr.resultsEl.appendChild(renderBindings(this.yasr.results.getAsJson()));
  }

  getIcon() {
    const icon = document.createElement("span");
    icon.textContent = "▦";
    return icon;
  }

  download(filename) {
    return {
      contentType: "text/csv",
      getData: () => this.yasr.results.asCsv(),
      filename: `${filename || "results"}.csv`,
      title: "Download CSV",
    };
  }
}

// ---------------------------------------------------------------- completion of the project's terms, offline

let termsLoaded = null;

function loadTerms() {
  // Properties, classes and entities of the graph, as CURIEs, from this endpoint (never from the web).
  const query = `SELECT DISTINCT ?term ?kind WHERE {
    { ?term a ?type . VALUES ?type { owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property }
      BIND ("property" AS ?kind) }
    UNION { ?term a owl:Class BIND ("class" AS ?kind) }
    UNION { ?term a ?class . FILTER (STRSTARTS(STR(?term), STR(ckgid:))) BIND ("entity" AS ?kind) }
  }`;
  termsLoaded ||= fetch("/sparql", {
    method: "POST",
    body: new URLSearchParams({ query }),
    headers: { Accept: "application/sparql-results+json" },
  })
    .then((response) => response.json())
    .then((data) => {
      const terms = { property: new Set(["rdf:type", "rdf:subject", "rdf:predicate", "rdf:object", "rdfs:label",
        "skos:prefLabel", "skos:altLabel", "skos:definition", "skos:exactMatch", "dcterms:title"]),
        class: new Set(), entity: new Set() };
      for (const row of data.results.bindings) {
        const curie = compact(row.term.value);
        if (!curie.startsWith("<")) terms[row.kind.value].add(curie);
      }
      return Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, [...v].sort()]));
    });
  return termsLoaded;
}

function registerCompleters() {
  const builtIn = Yasqe.Autocompleters;
  const asTyped = (_yasqe, token) => ({ ...token, autocompletionString: token.string.trim() });
  const completer = (name, kind, isValid) => ({
    name, bulk: true, autoShow: false, persistenceId: null,
    get: () => loadTerms().then((terms) => terms[kind]),
    isValidCompletionPosition: isValid,
    preProcessToken: asTyped,
    postProcessSuggestion: (_yasqe, _token, suggestion) => suggestion,
  });
  Yasqe.registerAutocompleter(completer("ckgProperty", "property",
    (yasqe) => builtIn.property.isValidCompletionPosition(yasqe) && !yasqe.getCompleteToken().string.startsWith("ckgid:")));
  Yasqe.registerAutocompleter(completer("ckgClass", "class", (yasqe) => builtIn.class.isValidCompletionPosition(yasqe)));
  Yasqe.registerAutocompleter(completer("ckgEntity", "entity",
    (yasqe) => yasqe.getCompleteToken().string.startsWith("ckgid:")));
}

// ---------------------------------------------------------------- running queries

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function remember(search) {
  // The question or query of these results, in the address bar and the permalink.
  history.replaceState(null, "", search ? "?" + search : location.pathname);
  $("permalink").href = location.href;
  $("permalink").hidden = !search;
}

async function send(request) {
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
  const text = await response.text();
  const contentType = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    page.yasr.setResponse({ error: { status: response.status, statusText: response.statusText, text } }, ms);
    setStatus(`${response.status} ${response.statusText}\n${text}`, true);
    return;
  }
  page.yasr.setResponse({ data: text, contentType, status: response.status, executionTime: ms }, ms);
  const truncated = response.headers.get("X-CKG-Truncated");
  const note = truncated ? ` (cut at ${config.maxRows} rows: add a LIMIT or narrow the query)` : "";
  if (contentType.startsWith("application/sparql-results+json")) {
    const data = JSON.parse(text);
    if ("boolean" in data) {
      setStatus(`${data.boolean ? "yes" : "no"} (${ms} ms)`, false);
      return;
    }
    const n = data.results.bindings.length;
    setStatus(`${n} row${n === 1 ? "" : "s"} in ${ms} ms${note}`, false);
  } else {
    setStatus(`graph in ${ms} ms${note}`, false);
  }
}

function runEditor() {
  const query = page.yasqe.getValue();
  remember(new URLSearchParams({ query }).toString());
  const body = new URLSearchParams({ query });
  send({ url: "/sparql", init: { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } } });
}

function askParams() {
  const params = new URLSearchParams();
  for (const input of $("param-fields").querySelectorAll("input")) {
    for (const value of input.value.split(";").map((v) => v.trim()).filter(Boolean)) params.append(input.name, value);
  }
  return params;
}

function askUrl() {
  const qs = askParams().toString();
  return `/queries/${encodeURIComponent($("example").value)}${qs ? "?" + qs : ""}`;
}

function ask() {
  const params = askParams();
  remember(new URLSearchParams([["question", $("example").value], ...params]).toString());
  send({ url: askUrl(), init: { method: "GET", headers: {} } });
}

function showQuery(text) {
  page.yasqe.setValue(text);
  page.yasqe.collapsePrefixes(true); // the example in view, not 16 PREFIX lines
}

function chooseExample(values) {
  const query = page.catalogue.find((q) => q.name === $("example").value);
  const fields = $("param-fields");
  fields.replaceChildren();
  if (!query) {
    $("example-description").textContent = "";
    $("params").hidden = true;
    showQuery(STARTER);
    return;
  }
  $("example-description").textContent = query.description;
  showQuery(query.sparql);
  for (const p of query.parameters) {
    const label = document.createElement("label");
    label.htmlFor = "param-" + p.name;
    label.textContent = p.name + (p.multiple ? " (several: separate with ;)" : "") + (p.required ? "" : " (optional)")
      + (p.choices && p.choices.length ? ` (one of: ${p.choices.join(", ")})` : "");
    const input = document.createElement("input");
    input.id = "param-" + p.name;
    input.name = p.name;
    input.title = p.description || "";
    const given = values ? values.getAll(p.name) : [];
    const example = Array.isArray(p.example) ? p.example.join("; ") : p.example || "";
    // an optional parameter without a default (source) starts empty: the example would narrow the answer
    input.value = given.length ? given.join("; ") : (p.required || p.default != null ? example : "");
    input.addEventListener("input", () => ($("ask-url").textContent = askUrl()));
    fields.append(label, input);
  }
  $("params").hidden = false;
  $("ask-url").textContent = askUrl();
}

async function init() {
  $("limits").textContent = `· read-only · ${config.timeout} s and ${config.maxRows} rows per query · v${config.version}`;
  registerCompleters();
  const run = () => runEditor();
  page.yasqe = new Yasqe($("editor"), {
    value: STARTER,
    persistenceId: null, // the URL holds the state, not the browser's storage
    showQueryButton: false,
    createShareableLink: null, // the page keeps the question or query in its own URL (remember)
    consumeShareLink: null,
    resizeable: true,
    editorHeight: "22rem",
    autocompleters: ["prefixes", "variables", "ckgProperty", "ckgClass", "ckgEntity"], // none that calls the web
    extraKeys: { ...Yasqe.defaults.extraKeys, "Ctrl-Enter": run, "Cmd-Enter": run },
  });
  Yasr.registerPlugin("labels", LabelTable);
  page.yasr = new Yasr($("results"), {
    persistenceId: null,
    prefixes,
    pluginOrder: ["labels", "boolean", "response", "error"],
    defaultPlugin: "labels",
    plugins: { table: { enabled: false } },
  });
  page.yasqe.collapsePrefixes(true);
  $("run").addEventListener("click", run);
  $("params").addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  $("example").addEventListener("change", () => chooseExample(null));
  const response = await fetch("/queries", { headers: { Accept: "application/json" } });
  page.catalogue = await response.json();
  for (const q of page.catalogue) {
    const option = document.createElement("option");
    option.value = q.name;
    option.textContent = `${q.title} (${q.name})`;
    $("example").appendChild(option);
  }
  const state = new URLSearchParams(location.search); // a bookmarked or shared result
  if (state.has("question") && page.catalogue.some((q) => q.name === state.get("question"))) {
    $("example").value = state.get("question");
    chooseExample(state);
    ask();
  } else if (state.has("query")) {
    showQuery(state.get("query"));
    runEditor();
  }
  document.body.dataset.ready = "true";
}

init();
