"""The endpoint's Starlette application: its routes, their limits and errors, and running it."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import multiprocessing
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from clinical_kg import __version__
from clinical_kg.catalogue import load_catalogue
from clinical_kg.namespaces import prefix_map
from clinical_kg.query_worker import GRAPH_TYPES, RESULT_TYPES, negotiate
from clinical_kg.sandbox import IsolationError, isolate_from_network
from clinical_kg.server.pages import render_entity
from clinical_kg.server.pool import ClientGoneError, OverShareError, SaturatedError, WorkerPool
from clinical_kg.server.protocol import ConnectionLimits, guarded_protocol
from clinical_kg.server_settings import Settings

log = logging.getLogger("clinical_kg.server")

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SD_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "text/html": "html",
}
# Longer query strings get 414 (the HTTP parser itself refuses request lines over 64 KiB with 400).
MAX_QUERY_STRING = 32 * 1024
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def _text(status: int, message: str, hint: str | None = None, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import PlainTextResponse

    body = f"error: {message}\n" + (f"  hint: {hint}\n" if hint else "")
    return PlainTextResponse(body, status_code=status, headers=headers)


class _RequestError(Exception):
    def __init__(self, status: int, message: str, hint: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint, self.headers = status, message, hint, headers


async def _read_body(request: Any, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise _RequestError(400, "Content-Length is not a number")
        if int(length) > limit:
            raise _RequestError(413, f"the request body is larger than {limit} bytes", "send a shorter query")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _RequestError(413, f"the request body is larger than {limit} bytes", "send a shorter query")
    return bytes(body)


def _form(data: str) -> dict[str, list[str]]:
    try:
        return parse_qs(data, keep_blank_values=True, max_num_fields=200, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _RequestError(400, f"the parameters cannot be read: {exc}") from None


# The answer headers a page of another origin may read (CORS): the cap, and which part of how much a page is.
EXPOSED_HEADERS = ["X-CKG-Truncated", "X-CKG-Total-Rows", "X-CKG-Total-Groups", "X-CKG-Offset", "X-CKG-Limit"]


def _switch(name: str, value: str) -> bool:
    """A yes/no URL parameter (``true``, ``1``, ``yes`` or ``false``, ``0``, ``no``, empty), or a 400."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no", ""):
        return False
    raise _RequestError(400, f"{name}={value!r} is neither true nor false", f"write {name}=true or {name}=false")


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


async def _disconnected(receive: Callable[[], Awaitable[dict]]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ClientTooSlowError(Exception):
    """The client took longer than ``client_timeout`` to read its answer; the connection is dropped."""


class _Streamed:
    """A worker's answer passed on chunk by chunk as the client reads it (the front never holds it whole)."""

    def __init__(self, reply: dict[str, Any], timeout: float) -> None:
        self.reply, self.timeout = reply, timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        reply = self.reply
        headers = [(b"content-type", reply["type"].encode()), (b"content-length", str(reply["chunked"]).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in (reply.get("headers") or {}).items()]
        chunks = reply["stream"].chunks()
        deadline = time.monotonic() + self.timeout
        try:
            await send({"type": "http.response.start", "status": reply["status"], "headers": headers})
            async for chunk in chunks:
                if time.monotonic() > deadline:
                    log.warning("dropped a client: the answer was not read within %g s", self.timeout)
                    abort = scope.get("ckg.abort")
                    if abort is None:  # not served by server.protocol: let the server close the connection
                        raise ClientTooSlowError(f"the answer was not read within {self.timeout:g} s")
                    abort()  # drop the connection and whatever is buffered for it, at once
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await chunks.aclose()


def _answer(reply: dict[str, Any], client_timeout: float = 30.0) -> Any:
    from starlette.responses import Response

    if "stream" in reply:
        return _Streamed(reply, client_timeout)
    if "body" in reply:
        return Response(reply["body"], status_code=reply["status"], media_type=reply["type"],
                        headers=reply.get("headers") or None)  # fmt: skip
    if "message" not in reply:
        return Response(status_code=reply["status"])
    return _text(reply["status"], reply["message"], reply.get("hint"))


def _service_description(base: str, settings: Settings, info: dict[str, Any]) -> Any:
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS, RDF, RDFS, VOID

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    formats = Namespace("http://www.w3.org/ns/formats/")
    graph = Graph()
    graph.bind("sd", sd)
    graph.bind("formats", formats)
    graph.bind("void", VOID)
    service, dataset, default = URIRef(base + "sparql"), BNode("dataset"), BNode("default")
    graph.add((service, RDF.type, sd.Service))
    graph.add((service, sd.endpoint, service))
    graph.add((service, sd.supportedLanguage, sd.SPARQL11Query))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                 "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "N3", "N-Quads", "TriG"):  # fmt: skip
        graph.add((service, sd.resultFormat, formats[name]))
    graph.add((service, DCTERMS.title, Literal("clinical-kg SPARQL endpoint")))
    graph.add((service, RDFS.comment, Literal(
        f"Read-only. SERVICE, FROM and updates are refused. Each query may run {settings.timeout:g} s "
        f"and return {settings.max_rows} rows; the project's prefixes are predeclared. "
        f"The catalogue of ready-made questions: {base}queries")))  # fmt: skip
    graph.add((service, sd.defaultDataset, dataset))
    graph.add((dataset, RDF.type, sd.Dataset))
    graph.add((dataset, sd.defaultGraph, default))
    graph.add((default, RDF.type, sd.Graph))
    graph.add((default, VOID.triples, Literal(info.get("triples", 0))))
    for i, name in enumerate(info.get("graphs", [])):
        named = BNode(f"g{i}")
        graph.add((dataset, sd.namedGraph, named))
        graph.add((named, sd.name, URIRef(name)))
    return graph


class _Headers:
    """Every answer says ``X-Content-Type-Options: nosniff`` and HTML pages carry a CSP; more than
    ``max_headers`` request headers get 431 (their total size is bounded by the protocol)."""

    def __init__(self, app: Any, max_headers: int) -> None:
        self.app, self.max_headers = app, max_headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["headers"]) > self.max_headers:
            await _text(431, f"more than {self.max_headers} request headers")(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
                if html and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", _PAGE_HEADERS["Content-Security-Policy"].encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings) -> Any:
    """The Starlette application (the worker pool starts with it)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    pool = WorkerPool(settings)
    catalogue = load_catalogue()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await pool.start()
        log.info("%d query workers ready (%s triples, network: %s)", settings.workers, pool.info.get("triples"),
                 pool.info.get("network"))  # fmt: skip
        try:
            yield
        finally:
            pool.close()

    async def run(request: Any, job: dict[str, Any], watch_disconnect: bool = True) -> Any:
        client = request.client.host if request.client else ""
        try:
            reply = await pool.call(job, _disconnected(request.receive) if watch_disconnect else None, client)
        except SaturatedError:
            return _text(503, "every query worker is busy", "try again in a moment", {"Retry-After": "1"})
        except OverShareError as exc:
            return _text(429, exc.message, f"try again in {exc.retry_after} s",
                         {"Retry-After": str(exc.retry_after)})  # fmt: skip
        except ClientGoneError:
            return Response(status_code=499)
        return reply if job["op"] == "entity" else _answer(reply, settings.client_timeout)

    def guarded(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        async def wrapper(request: Any) -> Any:
            if len(request.scope.get("query_string", b"")) > MAX_QUERY_STRING:
                return _text(414, f"the URL is longer than {MAX_QUERY_STRING} bytes", "POST the query instead")
            try:
                return await handler(request)
            except _RequestError as exc:
                return _text(exc.status, exc.message, exc.hint, exc.headers)

        return wrapper

    def authorize(request: Any) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = (settings.update_token or "").encode()
        if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            raise _RequestError(401, "writes need the update token", "send Authorization: Bearer $CKG_UPDATE_TOKEN",
                                {"WWW-Authenticate": 'Bearer realm="clinical-kg"'})  # fmt: skip

    async def write(job: dict[str, Any]) -> Any:
        try:
            return _answer(await pool.write(job))
        except SaturatedError:
            return _text(503, "the query workers stayed busy", "try again in a moment", {"Retry-After": "1"})

    @guarded
    async def sparql(request: Any) -> Any:
        params = _form(request.scope["query_string"].decode("latin-1"))
        if request.method == "POST":
            kind = _media_type(request.headers.get("content-type"))
            body = await _read_body(request, settings.max_body)
            if kind == "application/x-www-form-urlencoded":
                try:
                    fields = _form(body.decode("ascii"))
                except UnicodeDecodeError:
                    raise _RequestError(400, "a urlencoded body must be ASCII") from None
                for key, values in fields.items():
                    params.setdefault(key, []).extend(values)
            elif kind == "application/sparql-query":
                try:
                    params.setdefault("query", []).append(body.decode("utf-8"))
                except UnicodeDecodeError:
                    raise _RequestError(400, "the query is not UTF-8") from None
            elif kind == "application/sparql-update":
                try:
                    params.setdefault("update", []).append(body.decode("utf-8"))
                except UnicodeDecodeError:
                    raise _RequestError(400, "the update is not UTF-8") from None
            else:
                raise _RequestError(415, f"unsupported Content-Type {kind or '(none)'!r}",
                                  "use application/sparql-query or application/x-www-form-urlencoded")  # fmt: skip
        if "update" in params:
            if not settings.allow_update:
                raise _RequestError(403, "this endpoint is read-only: SPARQL Update is refused")
            if request.method != "POST" or len(params["update"]) != 1 or "query" in params:
                raise _RequestError(400, "POST exactly one update, and no query with it")
            authorize(request)
            return await write({"op": "update", "update": params["update"][0]})
        queries = params.get("query", [])
        if not queries:
            return description(request)
        if len(queries) > 1:
            raise _RequestError(400, "give exactly one query parameter")
        accept = request.headers.get("accept", "")
        if negotiate(accept, [*RESULT_TYPES, *GRAPH_TYPES]) is None:
            raise _RequestError(406, f"no result format matches Accept: {accept}",
                              "ask for one of: " + ", ".join([*RESULT_TYPES, *GRAPH_TYPES]))  # fmt: skip
        job = {"op": "sparql", "query": queries[0], "accept": accept, "base": str(request.base_url) + "sparql",
               "default_graphs": params.get("default-graph-uri", []),
               "named_graphs": params.get("named-graph-uri", [])}  # fmt: skip
        return await run(request, job)

    def description(request: Any) -> Any:
        media = negotiate(request.headers.get("accept", ""), SD_TYPES)
        if media is None:
            raise _RequestError(406, "no service description format matches the Accept header",
                              "ask for one of: " + ", ".join(SD_TYPES))  # fmt: skip
        if media == "text/html":
            return RedirectResponse("/", status_code=303)
        base = settings.base_url or f"http://{settings.host}:{settings.port}/"  # never the request's Host
        body = _service_description(base, settings, pool.info).serialize(format=SD_TYPES[media])
        return Response(body, media_type=media)

    @guarded
    async def queries(request: Any) -> Any:
        items = []
        for query in catalogue.values():
            example = {
                p.name: p.example
                for p in query.parameters
                if p.example is not None and (p.required or p.default is not None)
            }
            items.append({
                "name": query.name, "title": query.title, "description": query.description,
                "parameters": [{"name": p.name, "type": p.type, "description": p.description, "example": p.example,
                                "multiple": p.multiple, "required": p.required, "choices": list(p.choices),
                                "default": p.default} for p in query.parameters],
                "returns": list(query.returns),
                "url": f"/queries/{query.name}" + ("?" + urlencode(example, doseq=True) if example else ""),
                "sparql": query.text,
            })  # fmt: skip
        return JSONResponse(items)

    @guarded
    async def catalogue_query(request: Any) -> Any:
        values: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            values.setdefault(key.strip(), []).append(value.strip())
        page = {key: values.pop(key)[-1] for key in ("limit", "offset") if key in values}  # paging, not parameters
        group = _switch("group", values.pop("group", ["false"])[-1])
        job = {"op": "catalogue", "name": request.path_params["name"], "values": values, "page": page,
               "group": group, "accept": request.headers.get("accept", "")}  # fmt: skip
        return await run(request, job)

    @guarded
    async def entity(request: Any) -> Any:
        iri = request.query_params.get("iri", "")
        if not iri:
            raise _RequestError(400, "give the entity as ?iri=...")
        reply = await run(request, {"op": "entity", "iri": iri}, watch_disconnect=False)
        if not isinstance(reply, dict):  # 429 or 503
            return reply
        if negotiate(request.headers.get("accept", ""), ["text/html", "application/json"]) == "application/json":
            return JSONResponse(reply, status_code=reply["status"])
        if reply["status"] != 200:
            return _answer(reply)
        return HTMLResponse(render_entity(reply), headers=_PAGE_HEADERS)

    def numbers(request: Any, **defaults: int) -> dict[str, int]:
        values = {}
        for name, default in defaults.items():
            text = request.query_params.get(name, "")
            if text and not text.isdigit():
                raise _RequestError(400, f"{name}={text!r} is not a whole number")
            values[name.replace("-", "_")] = int(text) if text else default
        return values

    @guarded
    async def path(request: Any) -> Any:
        params = request.query_params
        if not params.get("from") or not params.get("to"):
            raise _RequestError(400, "give the two terms as ?from=...&to=...")
        job = {"op": "path", "from": params["from"], "to": params["to"], "relations": params.getlist("relations"),
               **numbers(request, **{"max-length": 2, "k": 3})}  # fmt: skip
        return await run(request, job)

    @guarded
    async def differential(request: Any) -> Any:
        symptoms = request.query_params.getlist("symptom")
        if not symptoms:
            raise _RequestError(400, "give the symptoms as ?symptom=...&symptom=...")
        job = {"op": "differential", "symptoms": symptoms, "sources": request.query_params.getlist("source"),
               **numbers(request, top=10)}  # fmt: skip
        return await run(request, job)

    @guarded
    async def neighbourhood(request: Any) -> Any:
        term = request.query_params.get("iri") or request.query_params.get("term") or ""
        if not term:
            raise _RequestError(400, "give the entity as ?iri=... (or ?term=...)")
        job = {"op": "drawing", "term": term, **numbers(request, depth=2, **{"max-nodes": 30})}
        return await run(request, job)

    @guarded
    async def graph_store(request: Any) -> Any:
        writes = ("PUT", "POST", "DELETE") if settings.allow_update else ()
        if request.method not in ("GET", "HEAD", *writes):
            allow = ", ".join(("GET", "HEAD", *writes))
            return _text(405, "the graph store is read-only", "curate with `ckg add`", {"Allow": allow})
        params = _form(request.scope["query_string"].decode("latin-1"))
        graphs = params.get("graph", [])
        if "default" not in params and len(graphs) != 1:
            raise _RequestError(400, "give ?default or ?graph=IRI")
        if request.method in writes:
            authorize(request)
            kind = _media_type(request.headers.get("content-type"))
            data = b""
            if request.method != "DELETE":
                if kind not in ("text/turtle", "application/n-triples"):
                    raise _RequestError(415, f"unsupported Content-Type {kind or '(none)'!r}",
                                        "send text/turtle or application/n-triples")  # fmt: skip
                data = await _read_body(request, settings.max_body)
            graph = None if "default" in params else graphs[0]
            return await write({"op": "graph-write", "method": request.method, "graph": graph, "data": data,
                                "format": kind})  # fmt: skip
        if graphs and not settings.allow_update and graphs[0] not in pool.info.get("graphs", []):
            raise _RequestError(404, f"no graph <{graphs[0]}> in this store")
        job = {"op": "sparql", "query": "CONSTRUCT WHERE { ?s ?p ?o }", "accept": request.headers.get("accept", ""),
               "default_graphs": graphs}  # fmt: skip
        return await run(request, job)

    async def page(request: Any) -> Any:
        config = {"prefixes": prefix_map(), "timeout": settings.timeout, "maxRows": settings.max_rows,
                  "version": __version__}  # fmt: skip
        text = (WEB_DIR / "index.html").read_text(encoding="utf-8")
        text = text.replace("__CONFIG__", json.dumps(config).replace("</", "<\\/"))
        return HTMLResponse(text, headers=_PAGE_HEADERS)

    async def health(request: Any) -> Any:
        return JSONResponse(
            {"status": "ok", "workers": pool.workers(), **pool.stats, "triples": pool.info.get("triples")}
        )

    middleware = [Middleware(_Headers, max_headers=settings.max_headers)]
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Content-Type"], expose_headers=EXPOSED_HEADERS, max_age=600))  # fmt: skip
    routes = [
        Route("/", page, methods=["GET"]),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/queries", queries, methods=["GET"]),
        Route("/queries/{name}", catalogue_query, methods=["GET"]),
        Route("/entity", entity, methods=["GET"]),
        Route("/entity/neighbourhood.svg", neighbourhood, methods=["GET"]),
        Route("/path", path, methods=["GET"]),
        Route("/differential", differential, methods=["GET"]),
        Route("/rdf-graph-store", graph_store, methods=["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]),
        Route("/health", health, methods=["GET"]),
        Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pool = pool
    return app


# ---------------------------------------------------------------- running


def isolation_problem() -> IsolationError | None:
    """Whether a query worker could be cut off from the network here: tried in a short-lived child process."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()

    def probe() -> None:
        try:
            isolate_from_network()
            child.send(None)
        except IsolationError as exc:
            child.send((exc.message, exc.hint))

    process = context.Process(target=probe)
    process.start()
    outcome = parent.recv() if parent.poll(30) else ("the isolation probe did not answer within 30 s", None)
    process.join(5)
    return None if outcome is None else IsolationError(*outcome)


def serve(settings: Settings) -> None:
    """Run the endpoint with uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    package_logger = logging.getLogger("clinical_kg")  # the command line's one-line warnings give way to the log
    for handler in list(package_logger.handlers):
        package_logger.removeHandler(handler)
    package_logger.propagate = True
    problem = isolation_problem()
    if problem is not None:
        if not settings.allow_network_access:  # fail closed (T21): say why and what to do, serve nothing
            raise IsolationError(f"ckg serve will not start: {problem.message}", hint=problem.hint)
        log.warning("serving with network access (--allow-network-access): %s", problem.message)
    if settings.store_path is not None:
        from clinical_kg.query_worker import build_store

        count = build_store(settings.store_path, settings.data_dir)
        log.info("on-disk store %s: %d quads (rebuilt when the data changes)", settings.store_path, count)
    shown = {**asdict(settings), "update_token": "(set)" if settings.update_token else None}
    log.info("settings: %s", shown)
    app = create_app(settings)
    if settings.front_memory_mb > 0:  # the workers lift it for themselves (sandbox.bound_resources)
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (settings.front_memory_mb * 1024 * 1024, hard))
    logging.getLogger("uvicorn.error").addFilter(_quiet_slow_clients)
    limits = ConnectionLimits(max_header_bytes=settings.max_header_bytes, request_timeout=settings.request_timeout,
                              client_timeout=settings.client_timeout,
                              connections_per_client=settings.connections_per_client)  # fmt: skip
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        access_log=settings.access_log,
        limit_concurrency=1000,
        timeout_keep_alive=5,
        server_header=False,
        log_level="info",
    )


def _quiet_slow_clients(record: logging.LogRecord) -> bool:
    """One line instead of uvicorn's traceback when a client too slow to read its answer is dropped."""
    if record.exc_info and isinstance(record.exc_info[1], ClientTooSlowError):
        log.warning("dropped a client: %s", record.exc_info[1])
        return False
    return True
