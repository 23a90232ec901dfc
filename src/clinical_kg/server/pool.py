"""The pool of sandboxed query worker processes behind the endpoint.

The front end never evaluates a query itself: a fixed pool of threads, one per worker, waits
on the workers' pipes (no thread per request).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import multiprocessing
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clinical_kg.query_worker import WorkerConfig, catalogue_forms, worker_main
from clinical_kg.sandbox import IsolationError
from clinical_kg.server_settings import Settings

log = logging.getLogger("clinical_kg.server")
BUDGET_WINDOW = 60.0  # seconds over which a client's query time is counted against --client-budget


class SaturatedError(Exception):
    """Every worker stayed busy for longer than the queue wait."""


class ClientGoneError(Exception):
    """The client disconnected before its answer was ready."""


class OverShareError(Exception):
    """The client holds more than its share of the workers, or has spent its query-time budget (429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class BodyStream:
    """The chunks of a worker's answer, read from its pipe one at a time as the client takes them.

    The worker stays checked out until the last chunk is read (then it is released) or the
    stream is closed early (then it is killed and replaced: it is stuck mid-answer).
    """

    def __init__(self, pool: WorkerPool, worker: _Worker) -> None:
        self.pool, self.worker, self.done = pool, worker, False

    async def chunks(self) -> AsyncIterator[bytes]:
        """Each chunk in turn."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                chunk = await loop.run_in_executor(self.pool._threads, self._next)
                if not chunk:
                    self.done = True
                    return
                yield chunk
        finally:
            self.close()

    def _next(self) -> bytes:
        if not self.worker.conn.poll(self.pool.settings.timeout):
            raise TimeoutError("the query worker stopped sending its answer")
        return self.worker.conn.recv_bytes()

    def close(self) -> None:
        """Release the worker if the answer was read to its end, else kill and replace it."""
        if self.worker is None:
            return
        worker, self.worker = self.worker, None
        if self.done:
            self.pool._release(worker)
        else:
            self.pool._threads.submit(self.pool._retire, worker)


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
            max_bytes=settings.max_bytes,
            memory_mb=settings.worker_memory_mb,
            store_path=str(settings.store_path) if settings.store_path else None,
            data_dir=str(settings.data_dir) if settings.data_dir else None,
            catalogue_forms=catalogue_forms(),
            allow_network_access=settings.allow_network_access,
            endpoint=settings.endpoint,
        )
        self._context = multiprocessing.get_context("forkserver")
        # matplotlib too (analysis.preload), for the entity pages' drawings
        self._context.set_forkserver_preload(["clinical_kg.query_worker", "clinical_kg.analysis.preload"])
        self._threads = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="ckg-query")
        self._idle: list[_Worker] = []
        self._all: dict[int, _Worker] = {}
        self._active: collections.Counter = collections.Counter()  # workers held, per client
        self._waiting: collections.Counter = collections.Counter()  # requests waiting for a worker, per client
        self._spent: collections.defaultdict = collections.defaultdict(collections.deque)  # (end, seconds) per client
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
            if "isolation" in info:  # fail closed (T21): a worker that keeps its network answers nothing
                raise IsolationError(info["isolation"], hint=info.get("hint"))
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

    async def call(
        self, request: dict[str, Any], disconnected: Awaitable[Any] | None = None, client: str = ""
    ) -> dict[str, Any]:
        """Run ``request`` on a free worker; the worker's answer, or a timeout/crash answer.

        ``client`` (an address) is held to its share of the workers and its query-time budget
        (T19, T22): :class:`OverShareError` when it is over either.
        """
        assert self._slots is not None and self._loop is not None
        self._admit(client)
        self._waiting[client] += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.queue_wait)
        except TimeoutError:
            self.stats["saturated"] += 1
            raise SaturatedError from None
        finally:
            self._waiting[client] -= 1
        worker = self._idle.pop()
        self._active[client] += 1
        started = time.monotonic()
        try:
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
        finally:
            self._active[client] -= 1
            self._spent[client].append((time.monotonic(), time.monotonic() - started))

    def _admit(self, client: str) -> None:
        """Refuse a client over its share of the workers (while others wait) or over its time budget."""
        now = time.monotonic()
        spent = self._spent[client]
        while spent and spent[0][0] < now - BUDGET_WINDOW:
            spent.popleft()
        used = sum(seconds for _, seconds in spent)
        if used >= self.settings.client_budget:
            freed, retry = used, BUDGET_WINDOW
            for ended, seconds in spent:
                freed -= seconds
                if freed < self.settings.client_budget:
                    retry = ended + BUDGET_WINDOW - now
                    break
            budget = self.settings.client_budget
            message = f"your queries used {used:.0f} s of query time in the last minute, over the {budget:g} s allowed"
            raise OverShareError(message, max(1, math.ceil(retry)))
        others = {c for c, n in (*self._active.items(), *self._waiting.items()) if n > 0} - {client}
        share = max(1, self.settings.workers // (len(others) + 1))
        if others and self._active[client] >= share:
            raise OverShareError(f"your queries hold {self._active[client]} of the {self.settings.workers} workers "
                                 "while others wait", 1)  # fmt: skip

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
        if reply.get("chunked"):  # the worker stays with the answer until its body has been read
            if abandoned.is_set():
                self._retire(worker)
                return {"status": 499}
            reply["stream"] = BodyStream(self, worker)
            return reply
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
