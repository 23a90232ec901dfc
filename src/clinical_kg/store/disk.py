"""On-disk Oxigraph stores: built, rebuilt and swapped into place safely; opened read-only.

:func:`load_store` bulk-loads files with Oxigraph's parsers into a new folder, in the
named-graph layout of :mod:`clinical_kg.layout`, checks it and renames it into place, so a
killed load never leaves a half-loaded store behind; reopening takes milliseconds. The folder
records what it was built from (``clinical-kg-build.json``): a store built from the shipped data
is rebuilt when the data changed (:func:`ensure_store`), one that also holds other files is
refused until it is loaded again. :func:`replace_graphs` rebuilds a store with some named graphs
replaced (``ckg import``), the same way. Rebuilds hold the store's lock (:func:`store_lock`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from clinical_kg import __version__, resources
from clinical_kg.errors import InputError
from clinical_kg.layout import Part, layout
from clinical_kg.resources import curated_files, shipped_files
from clinical_kg.store.files import Progress, has_statement, load_part, rdf_format
from clinical_kg.store.graphs import OxigraphKnowledgeGraph, default_graph_size, imported_graph_names


def is_store(path: Path) -> bool:
    _restore_interrupted_swap(path)
    return path.is_dir() and any(path.iterdir())


def _old_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.is_dir() else []


def _restore_interrupted_swap(path: Path) -> None:
    """A load killed between its two renames left the previous store aside: put it back."""
    old = _old_copies(path)
    if old and not path.exists():
        old[-1].rename(path)


def open_store(path: Path, read_only: bool = True) -> OxigraphKnowledgeGraph:
    """The on-disk Oxigraph store at ``path`` (read-only by default, so processes can share it)."""
    _restore_interrupted_swap(path)
    try:
        store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
    except OSError as exc:
        raise InputError(f"{path} is not an Oxigraph store: {exc}", hint="build one with `ckg load`") from None
    return OxigraphKnowledgeGraph(store, path)


MEMORY_PER_STORED_BYTE = 12
"""About how many bytes of memory an on-disk store takes per byte of its folder once copied into
memory (measured at 100k and 1M synthetic triples: 8 to 9; rounded up for the work done on it)."""


def available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable, else the free physical pages), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:  # counts the caches the kernel can drop
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def fits_in_memory(path: Path) -> bool:
    """Whether a copy of the on-disk store at ``path`` fits in the memory available now (False when unknown)."""
    stored = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    available = available_memory()
    return available is not None and stored * MEMORY_PER_STORED_BYTE < available


BUILD_RECORD = "clinical-kg-build.json"  # inside the store folder: what the store was built from


def data_digest(data_dir: Path | None = None) -> str:
    """The SHA-256 of the vocabulary and the curated data files (names and bytes) of ``data_dir``."""
    import hashlib

    digest = hashlib.sha256()
    for path in shipped_files(data_dir):
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_store(
    path: Path,
    files: Sequence[Path] | None = None,
    progress: Progress | None = None,
    data_dir: Path | None = None,
    keep_imports: bool = False,
) -> int:
    """Build the on-disk store at ``path`` from ``files`` (default: the vocabulary and the curated data).

    Turtle, N-Triples and N-Quads (by file name, optionally gzipped) are bulk-loaded with
    Oxigraph's parsers in the layout of :mod:`clinical_kg.layout` (every triple in the default
    graph; each data file, and each graph of an N-Quads file, also in its named graph). The store
    is built in a new sibling folder, flushed, reopened and counted, its build record written
    (with the checksum of the curated data of ``data_dir`` when it holds all of it), and only then
    renamed into place, replacing the store there (T17: a killed bulk load keeps nothing, and a
    killed ``ckg load`` leaves the previous store as it was). With ``keep_imports``, the graphs
    ``ckg import`` wrote into the store there are copied into the new one (and stay in its build
    record); without, they are gone and the database must be imported again. Returns the number
    of triples in the default graph.
    """
    parts = layout(files if files is not None else curated_files(data_dir))
    formats = [rdf_format(part.path) for part in parts]
    sizes = [part.path.stat().st_size for part in parts]
    path.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(path):
        return _load_store_locked(path, parts, formats, sizes, progress, data_dir, keep_imports)


def _load_store_locked(
    path: Path, parts: list[Part], formats: list[tuple[ox.RdfFormat, bool]], sizes: list[int],
    progress: Progress | None, data_dir: Path | None, keep_imports: bool,
) -> int:  # fmt: skip
    _remove_abandoned_loads(path)
    kept = read_build_record(path).get("imported", []) if keep_imports and is_store(path) else []
    partial = _new_partial(path)
    try:
        store = ox.Store(str(partial))
        done = 0
        for part, (fmt, gz), size in zip(parts, formats, sizes, strict=True):
            load_part(store, part, fmt, gz, done, sum(sizes), progress)
            done += size
        if kept:
            old = ox.Store.read_only(str(path))
            for graph in imported_graph_names(old):
                store.bulk_extend(old.quads_for_pattern(None, None, None, graph))
            del old
        store.flush()
        del store
        count = default_graph_size(ox.Store.read_only(str(partial)))  # reopens: the folder is a whole store
        statements = (has_statement(p.path, *f) for p, f in zip(parts, formats, strict=True))
        if count == 0 and sum(sizes) > 0 and any(statements):
            raise InputError(f"the load into {path} gave an empty store", hint="check the files")
        _write_build_record(partial, parts, data_dir, kept)
        _swap_into_place(partial, path)
    finally:
        _remove_folder(partial)
    return count


def read_build_record(path: Path) -> dict[str, Any]:
    """The build record of the store at ``path`` (what it was built from), or an InputError."""
    try:
        return json.loads((path / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            f"{path} has no readable build record ({BUILD_RECORD}), so whether it holds the current data is unknown",
            hint=f"rebuild it: ckg load [FILE...] --store-path {path}",
        ) from None


def _write_build_record(
    folder: Path, parts: list[Part], data_dir: Path | None, imported: list[dict[str, Any]] | None = None
) -> None:
    curated = {p.resolve() for p in shipped_files(data_dir)}
    loaded = {p.path.resolve() for p in parts}
    record = {
        "built_by": f"clinical-kg {__version__}",
        "data_dir": str(resources.data_dir(data_dir)),
        # the curated data's checksum when the store holds all of it, so that a change is noticed
        "data_sha256": data_digest(data_dir) if curated <= loaded else None,
        "files": [
            {
                "path": str(p.path.resolve()),
                "bytes": p.path.stat().st_size,
                "curated": p.path.resolve() in curated,
                "graph": str(p.graph) if p.graph else None,
            }
            for p in parts
        ],
        # the graphs of imported databases (ckg import), kept when the curated data is reloaded
        "imported": imported or [],
    }
    (folder / BUILD_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def ensure_store(path: Path, files: Sequence[Path] | None = None, data_dir: Path | None = None) -> str:
    """Make sure the store at ``path`` holds the current curated data: ``built``, ``rebuilt`` or ``current``.

    A missing or empty folder is built from ``files`` (default: the vocabulary and the curated data
    of ``data_dir``). A store built from the curated data alone is rebuilt when the data changed
    since, keeping the graphs ``ckg import`` added; a store that also holds other files is refused
    then (they may be gone), as is a folder without a build record. A store built without the
    curated data is left as it is.
    """
    if not is_store(path):
        load_store(path, files, data_dir=data_dir)
        return "built"
    record = read_build_record(path)
    if record.get("data_sha256") is None or record["data_sha256"] == data_digest(data_dir):
        return "current"
    others = [f["path"] for f in record.get("files", []) if not f.get("curated")]
    if others:
        raise InputError(
            f"{path} was built from other data than that in {resources.data_dir(data_dir)} now",
            hint=f"load it again: ckg load {' '.join(others)} --store-path {path}",
        )
    load_store(path, data_dir=data_dir, keep_imports=True)
    return "rebuilt"


def _new_partial(path: Path) -> Path:
    """A new build folder beside the store, named with this process's id (see _remove_abandoned_loads)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-{os.getpid()}-", dir=path.parent))


@contextmanager
def store_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the on-disk store at ``path`` while it is rebuilt.

    ``ckg load`` and ``ckg import`` both rebuild a store beside it and swap it into place; two at
    once would each swap in a store without the other's changes. The lock (``.<name>.lock``
    beside the store, an advisory ``flock``) makes the second wait. Readers never take it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def replace_graphs(
    path: Path,
    drop: Collection[str],
    graphs: Sequence[tuple[str, Iterable[str]]],
    progress: Callable[[str], None] | None = None,
    imported: Sequence[dict[str, Any]] = (),
) -> None:
    """Rebuild the on-disk store at ``path`` without the named graphs ``drop`` and with ``graphs`` added.

    ``graphs`` are (graph IRI, N-Triples text) pairs, the text given in pieces of whole lines as it
    is produced; it is bulk-loaded into that named graph a batch at a time (Oxigraph's bulk loader
    holds a whole call's quads in memory: about 1 KB each). Everything else in the store (the
    default graph, other named graphs) is copied over. As in :func:`load_store`, the new store is
    built in a folder beside the old one, checked and renamed into place under the store's lock:
    a killed rebuild leaves the old store as it was. ``progress`` is told the name of each step.
    The build record goes with the store, its ``imported`` list without the graphs dropped or
    replaced and with ``imported`` (one entry per graph added: its ``graph`` IRI and what it was
    imported from).
    """
    step = progress or (lambda _name: None)
    with store_lock(path):
        if not is_store(path):
            raise InputError(f"{path} is not an Oxigraph store", hint="build one with `ckg load`")
        _remove_abandoned_loads(path)
        record = read_build_record(path)
        partial = _new_partial(path)
        try:
            new = ox.Store(str(partial))
            old = ox.Store.read_only(str(path))
            step("copying the rest of the store")
            new.bulk_extend(old.quads_for_pattern(None, None, None, ox.DefaultGraph()))
            replaced = set(drop) | {name for name, _pieces in graphs}  # a graph is never merged into
            for name in sorted(old.named_graphs(), key=str):
                if isinstance(name, ox.NamedNode) and name.value in replaced:
                    continue
                new.bulk_extend(old.quads_for_pattern(None, None, None, name))
            del old
            for name, pieces in graphs:
                step(f"loading {name}")
                graph = ox.NamedNode(name)
                for batch in _read_ahead(_batches(pieces, BULK_BATCH_CHARS)):
                    try:
                        new.bulk_load(batch, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True)
                    except SyntaxError as exc:  # a bug of the writer, not of the user's input
                        raise RuntimeError(f"invalid N-Triples for {name}: {exc}") from exc
            new.flush()
            del new
            ox.Store.read_only(str(partial))  # reopens: the folder is a whole store (counting it took 0.5 s at 3M)
            kept = [entry for entry in record.get("imported", []) if entry.get("graph") not in replaced]
            record["imported"] = sorted([*kept, *imported], key=lambda entry: str(entry.get("graph")))
            (partial / BUILD_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            _swap_into_place(partial, path)
        finally:
            _remove_folder(partial)


BULK_BATCH_CHARS = 24_000_000
"""N-Triples characters per bulk-load call in :func:`replace_graphs` (about 160,000 triples, 250 MB of
loader memory)."""


def _batches(pieces: Iterable[str], size: int) -> Iterator[bytes]:
    """Pieces of text joined into batches of about ``size`` characters, encoded as UTF-8."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch, length = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


def _remove_folder(folder: Path) -> None:
    """Delete ``folder`` and what it holds, as far as it can (shutil is imported only by loads)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _read_ahead(batches: Iterator[bytes]) -> Iterator[bytes]:
    """The same batches, the next one built in a worker thread while the caller loads this one.

    Writing the N-Triples is Python (about 4 s of the HPO import); ``Store.bulk_load`` releases
    the GIL, so on a second core the two overlap. Whatever the writer raises reaches the caller
    at the batch it would have come with; a caller that stops early waits for the batch being
    built, no longer.
    """
    from concurrent.futures import ThreadPoolExecutor  # here: every command imports this module

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ckg-batches") as worker:
        pending = worker.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = worker.submit(next, batches, None)
            yield batch


def _remove_abandoned_loads(path: Path) -> None:
    """Delete the build folders of loads into ``path`` whose process is gone (killed loads)."""
    for folder in path.parent.glob(f".{path.name}.partial-*"):
        pid = folder.name.removeprefix(f".{path.name}.partial-").split("-", 1)[0]
        if not pid.isdigit() or _process_exists(int(pid)):
            continue  # a load still running, or a folder we did not name
        _remove_folder(folder)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_into_place(partial: Path, path: Path) -> None:
    if not path.exists():
        partial.rename(path)
        return
    import tempfile

    from clinical_kg.transaction import fsync_dir

    if path.is_dir() and any(path.iterdir()) and not (path / "CURRENT").exists():
        raise InputError(f"{path} is a folder but not an Oxigraph store", hint="give a new or empty folder")
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    old.rmdir()
    path.rename(old)
    partial.rename(path)  # a kill between the renames is undone by _restore_interrupted_swap
    _remove_folder(old)
    fsync_dir(path.parent)
