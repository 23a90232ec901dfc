"""``ckg serve``: a read-only SPARQL 1.1 Protocol endpoint, the catalogue over HTTP, a query page.

Routes:

- ``/sparql``: the SPARQL 1.1 Protocol for queries (GET ``query=``, POST urlencoded, POST
  ``application/sparql-query``; ``default-graph-uri``/``named-graph-uri`` over the graphs of
  the store), results in SPARQL JSON, XML, CSV or TSV and graphs in Turtle, N-Triples, JSON-LD
  or RDF/XML by content negotiation; the service description when there is no query.
- ``/queries`` lists the catalogue (JSON); ``/queries/NAME?PARAM=VALUE`` runs one, with the
  same binding and errors as ``ckg query``.
- ``/`` the query page, ``/entity?iri=IRI`` a page per entity, ``/static/`` their assets (shipped
  in the package, nothing loaded from elsewhere); ``/rdf-graph-store`` the Graph Store
  Protocol (GET; writes only with ``--allow-update``); ``/health``.

Safe by default (shared/reference/security-findings.md): queries only; updates and Graph Store
writes refused (403/405, T18) unless started with ``--allow-update`` and a token, and then
applied to the endpoint's in-memory copy only, never to the curated files; ``SERVICE``,
``FROM`` and graphs from URLs refused (T1, T3); each query runs in a sandboxed worker process
(:mod:`clinical_kg.query_worker`) that is killed at the deadline (T10, T11); bounded rows,
bodies, URLs and concurrency, 503 + Retry-After when every worker stays busy for
``queue_wait`` seconds (T12, T19); loopback only unless ``--host`` says otherwise. The front
end never evaluates a query itself: a fixed pool of threads, one per worker, waits on the
workers' pipes (no thread per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from clinical_kg import __version__
from clinical_kg.catalogue import load_catalogue
from clinical_kg.namespaces import prefix_map
from clinical_kg.query_worker import GRAPH_TYPES, RESULT_TYPES, WorkerConfig, catalogue_forms, negotiate, worker_main

log = logging.getLogger("clinical_kg.server")

WEB_DIR = Path(__file__).resolve().parent / "web"
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


@dataclass
class Settings:
    """The endpoint's settings; every one has a safe default (see ``ckg serve --help``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2  # concurrent queries: one per worker process
    timeout: float = 10.0  # seconds of wall-clock time per query, then the worker is killed
    max_rows: int = 10_000  # rows (or triples) per result; more are cut and flagged
    max_body: int = 128 * 1024  # bytes of request body
    queue_wait: float = 1.0  # seconds a request may wait for a free worker before 503
    cors_origins: tuple[str, ...] = ()  # origins allowed by CORS; none by default
    store_path: Path | None = None  # an on-disk Oxigraph store, built from the shipped files if empty
    worker_memory_mb: int = 4096  # address-space limit of each worker process
    access_log: bool = True
    abandon_grace: float = 1.0  # a query whose client left is stopped this many seconds later
    allow_update: bool = False  # SPARQL Update and Graph Store writes, on the in-memory copy only
    update_token: str | None = None  # the bearer token writes must carry (with allow_update)


class SaturatedError(Exception):
    """Every worker stayed busy for longer than the queue wait."""


class ClientGoneError(Exception):
    """The client disconnected before its answer was ready."""


# ---------------------------------------------------------------- the worker pool


class _Worker:
    def __init__(self, process: Any, conn: Any, info: dict[str, Any]) -> None:
        self.process, self.conn, self.info = process, conn, info
        self.queries = 0


class WorkerPool:
    """A fixed number of sandboxed query processes, each answering one request at a time.

    A request waits at most ``queue_wait`` seconds for a free worker (else :class:`SaturatedError`),
    then gets ``timeout`` seconds; a worker that overruns is killed (SIGKILL) and replaced.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = WorkerConfig(
            max_rows=settings.max_rows,
            memory_mb=settings.worker_memory_mb,
            store_path=str(settings.store_path) if settings.store_path else None,
            catalogue_forms=catalogue_forms(),
        )
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["clinical_kg.query_worker"])
        self._threads = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="ckg-query")
        self._idle: list[_Worker] = []
        self._all: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._write_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.info: dict[str, Any] = {}
        self.stats = {"answered": 0, "timeouts": 0, "saturated": 0, "crashes": 0, "respawns": 0}

    async def start(self) -> None:
        """Start every worker and wait until each has loaded the graph."""
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.settings.workers)
        spawns = [self._loop.run_in_executor(self._threads, self._spawn) for _ in range(self.settings.workers)]
        self._idle = list(await asyncio.gather(*spawns))
        self.info = self._idle[0].info

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child, self.config), daemon=True)
        process.start()
        child.close()
        if not parent.poll(120):
            process.kill()
            raise RuntimeError("a query worker did not start within 120 s")
        info = parent.recv()
        if not info.get("ready"):
            process.join()
            raise RuntimeError(f"a query worker could not load the graph: {info.get('error')}")
        if info["network"] != "isolated":
            log.warning("query worker %s has network access: %s", info["pid"], info["network"])
        worker = _Worker(process, parent, info)
        with self._lock:
            self._all[worker.info["pid"]] = worker
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker now; start its replacement in the background, which frees the slot."""
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        with self._lock:
            self._all.pop(worker.info["pid"], None)
        self.stats["respawns"] += 1
        self._threads.submit(self._respawn)

    def _respawn(self) -> None:
        for attempt in range(5):
            try:
                worker = self._spawn()
            except Exception:
                log.exception("could not start a query worker (attempt %d)", attempt + 1)
                time.sleep(1)
            else:
                self._loop.call_soon_threadsafe(self._release, worker)  # type: ignore[union-attr]
                return
        log.error("gave up starting a query worker: %d left", len(self._all))

    def workers(self) -> list[dict[str, Any]]:
        """Pid and query count of each live worker."""
        with self._lock:
            return [{"pid": pid, "queries": w.queries} for pid, w in sorted(self._all.items())]

    async def call(self, request: dict[str, Any], disconnected: Awaitable[Any] | None = None) -> dict[str, Any]:
        """Run ``request`` on a free worker; the worker's answer, or a timeout/crash answer."""
        assert self._slots is not None and self._loop is not None
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.queue_wait)
        except TimeoutError:
            self.stats["saturated"] += 1
            raise SaturatedError from None
        worker = self._idle.pop()
        abandoned = threading.Event()
        future = self._loop.run_in_executor(self._threads, self._run, worker, request, abandoned)
        if disconnected is None:
            return await future
        watcher = asyncio.ensure_future(disconnected)
        try:
            done, _ = await asyncio.wait({future, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
        if future in done:
            return future.result()
        abandoned.set()
        raise ClientGoneError

    async def write(self, request: dict[str, Any]) -> dict[str, Any]:
        """Apply a write to every worker, with all of them held (no query sees half of it).

        The first worker's answer decides: an error is returned as it is; a success is logged,
        so that replacement workers replay it, and applied to the other workers.
        """
        assert self._slots is not None and self._loop is not None
        async with self._write_lock:
            held = 0
            try:
                deadline = self._loop.time() + self.settings.timeout + self.settings.queue_wait
                while held < self.settings.workers:
                    await asyncio.wait_for(self._slots.acquire(), max(0.0, deadline - self._loop.time()))
                    held += 1
            except TimeoutError:
                for _ in range(held):
                    self._slots.release()
                raise SaturatedError from None
            workers, self._idle = self._idle, []
            first = await self._loop.run_in_executor(self._threads, self._exchange, workers[0], request)
            if first is not None and first["status"] < 300:
                self.config.writes.append(request)
                rest = [self._loop.run_in_executor(self._threads, self._exchange, w, request) for w in workers[1:]]
                await asyncio.gather(*rest)
            for worker in workers:
                if worker.info["pid"] in self._all:  # the others were retired: their replacements free their slot
                    self._release(worker)
        if first is None:
            return {"status": 503, "message": f"the write ran longer than {self.settings.timeout:g} s and was stopped"}
        return first

    def _exchange(self, worker: _Worker, request: dict[str, Any]) -> dict[str, Any] | None:
        """In a pool thread: one request to a held worker; None (and the worker retired) on overrun or crash."""
        try:
            worker.conn.send(request)
            if worker.conn.poll(self.settings.timeout):
                return worker.conn.recv()
        except (EOFError, OSError):
            pass
        self._retire(worker)
        return None

    def _run(self, worker: _Worker, request: dict[str, Any], abandoned: threading.Event) -> dict[str, Any]:
        """In a pool thread: send, wait until the deadline; kill and replace the worker on overrun."""
        deadline = time.monotonic() + self.settings.timeout
        reply: dict[str, Any] | None = None
        try:
            worker.conn.send(request)
            while reply is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if abandoned.is_set():
                    deadline = min(deadline, time.monotonic() + self.settings.abandon_grace)
                if worker.conn.poll(min(remaining, 0.1)):
                    reply = worker.conn.recv()
        except (EOFError, OSError):
            self.stats["crashes"] += 1
            log.error("query worker %s stopped during a query", worker.info["pid"])
            self._retire(worker)
            return {"status": 500, "message": "the query worker stopped (out of memory?)",
                    "hint": "add a LIMIT or narrow the query"}  # fmt: skip
        except BaseException:
            self._retire(worker)
            raise
        if reply is None:
            self.stats["timeouts"] += 1
            log.warning("query stopped after %.1f s: killing worker %s", self.settings.timeout, worker.info["pid"])
            self._retire(worker)
            return {"status": 503, "timeout": True,
                    "message": f"the query ran longer than {self.settings.timeout:g} s and was stopped",
                    "hint": "add a LIMIT, or narrow the patterns (a cartesian product grows fast)"}  # fmt: skip
        worker.queries += 1
        self.stats["answered"] += 1
        self._loop.call_soon_threadsafe(self._release, worker)  # type: ignore[union-attr]
        return reply

    def _release(self, worker: _Worker) -> None:
        self._idle.append(worker)
        self._slots.release()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers = list(self._all.values())
            self._all.clear()
        for worker in workers:
            worker.process.kill()
        for worker in workers:
            worker.process.join(5)
        self._threads.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------- HTTP


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


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


async def _disconnected(receive: Callable[[], Awaitable[dict]]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _answer(reply: dict[str, Any]) -> Any:
    from starlette.responses import Response

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
                 "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):  # fmt: skip
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

    async def run(request: Any, job: dict[str, Any]) -> Any:
        try:
            reply = await pool.call(job, _disconnected(request.receive))
        except SaturatedError:
            return _text(503, "every query worker is busy", "try again in a moment", {"Retry-After": "1"})
        except ClientGoneError:
            return Response(status_code=499)
        return _answer(reply)

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
        job = {"op": "sparql", "query": queries[0], "accept": accept,
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
        base = str(request.base_url)
        body = _service_description(base, settings, pool.info).serialize(format=SD_TYPES[media])
        return Response(body, media_type=media)

    @guarded
    async def queries(request: Any) -> Any:
        items = []
        for query in catalogue.values():
            example = {p.name: p.example for p in query.parameters if p.example is not None}
            items.append({
                "name": query.name, "title": query.title, "description": query.description,
                "parameters": [{"name": p.name, "type": p.type, "description": p.description, "example": p.example,
                                "multiple": p.multiple, "required": p.required} for p in query.parameters],
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
        job = {"op": "catalogue", "name": request.path_params["name"], "values": values,
               "accept": request.headers.get("accept", "")}  # fmt: skip
        return await run(request, job)

    @guarded
    async def entity(request: Any) -> Any:
        iri = request.query_params.get("iri", "")
        if not iri:
            raise _RequestError(400, "give the entity as ?iri=...")
        try:
            reply = await pool.call({"op": "entity", "iri": iri})
        except SaturatedError:
            return _text(503, "every query worker is busy", "try again in a moment", {"Retry-After": "1"})
        if negotiate(request.headers.get("accept", ""), ["text/html", "application/json"]) == "application/json":
            return JSONResponse(reply, status_code=reply["status"])
        if reply["status"] != 200:
            return _answer(reply)
        return HTMLResponse(render_entity(reply), headers=_PAGE_HEADERS)

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

    middleware = []
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Content-Type"], expose_headers=["X-CKG-Truncated"], max_age=600))  # fmt: skip
    routes = [
        Route("/", page, methods=["GET"]),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/queries", queries, methods=["GET"]),
        Route("/queries/{name}", catalogue_query, methods=["GET"]),
        Route("/entity", entity, methods=["GET"]),
        Route("/rdf-graph-store", graph_store, methods=["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]),
        Route("/health", health, methods=["GET"]),
        Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pool = pool
    return app


# ---------------------------------------------------------------- the entity page


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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · clinical-kg</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><a href="/">clinical-kg</a> · entity</header><main>
<h1>{html.escape(title)}</h1><p class="iri"><code>{html.escape(iri)}</code></p>
<h2>Relations out</h2><table><thead><tr><th>property</th><th>value</th></tr></thead><tbody>{out_rows}</tbody></table>
<h2>Relations in</h2><table><thead><tr><th>subject</th><th>property</th></tr></thead><tbody>{in_rows}</tbody></table>
<h2>Evidence</h2><ul class="evidence">{"".join(evidence) or "<li>No assertion record mentions it.</li>"}</ul>
</main></body></html>
"""


# ---------------------------------------------------------------- running


def serve(settings: Settings) -> None:
    """Run the endpoint with uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    if settings.store_path is not None:
        from clinical_kg.query_worker import build_store

        count = build_store(settings.store_path)
        log.info("on-disk store %s: %d quads (delete the folder to rebuild it from the data files)",
                 settings.store_path, count)  # fmt: skip
    shown = {**asdict(settings), "update_token": "(set)" if settings.update_token else None}
    log.info("settings: %s", shown)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        limit_concurrency=1000,
        timeout_keep_alive=5,
        server_header=False,
        log_level="info",
    )
