"""RDF files into an Oxigraph store: the format from the file's name, gzip, progress, and one
error that names the file (with line and column when the parser gives them)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from clinical_kg.errors import InputError
from clinical_kg.layout import Part, part_quads

_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
}


Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes) of all the files of a load."""


def rdf_format(path: Path) -> tuple[ox.RdfFormat, bool]:
    """The RDF format of a file from its name (``.ttl``, ``.nt``, ``.nq``, each maybe ``.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    suffix = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    if suffix not in _FORMATS:
        raise InputError(
            f"{path}: cannot tell the RDF format from the name",
            hint="name it .ttl, .nt or .nq (Turtle, N-Triples, N-Quads), optionally with .gz",
        )
    return _FORMATS[suffix], gz


class _Counting(io.RawIOBase):
    """A reader that reports how far into the (compressed) file the parser has got."""

    def __init__(self, raw: BinaryIO, stream: BinaryIO, done: int, total: int, progress: Progress) -> None:
        self._raw, self._stream, self._done, self._total, self._progress = raw, stream, done, total, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._stream.readinto(buffer)
        self._progress(self._done + self._raw.tell(), self._total)
        return n


def open_binary(path: Path, gz: bool) -> tuple[BinaryIO, BinaryIO]:
    raw = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    if not gz:
        return raw, raw
    import gzip

    return raw, gzip.GzipFile(fileobj=raw)


def _gzip_errors() -> tuple[type[Exception], ...]:
    """What reading a damaged gzip file raises (gzip imported only when a load fails)."""
    import gzip
    import zlib

    return (EOFError, zlib.error, gzip.BadGzipFile)


def load_part(
    store: ox.Store, part: Part, fmt: ox.RdfFormat, gz: bool, done: int, total: int, progress: Progress | None
) -> None:
    """``_read_part`` with every way a file can fail turned into one InputError naming it."""
    path = part.path
    try:
        _read_part(store, part, fmt, gz, done, total, progress)
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
    except _gzip_errors() as exc:
        raise InputError(
            f"{path}: not a complete gzip file ({exc})", hint="compress it again, or load it uncompressed"
        ) from None
    except MemoryError:
        raise InputError(f"{path}: ran out of memory reading it (is one line or literal enormous?)") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None


def _read_part(
    store: ox.Store, part: Part, fmt: ox.RdfFormat, gz: bool, done: int, total: int, progress: Progress | None
) -> None:
    raw, stream = open_binary(part.path, gz)
    with raw, stream:
        reader = _Counting(raw, stream, done, total, progress) if progress else stream
        if part.graph is None and fmt != ox.RdfFormat.N_QUADS:
            store.bulk_load(reader, format=fmt)  # the default graph only: Oxigraph's fastest path
        else:
            store.bulk_extend(part_quads(part, reader, fmt))
    if progress:
        progress(done + part.path.stat().st_size, total)


def load_parts(store: ox.Store, parts: Sequence[Part]) -> None:
    """Load the parts of a load (:func:`clinical_kg.layout.layout`) into a store, in their layout."""
    for part in parts:
        fmt, gz = rdf_format(part.path)
        load_part(store, part, fmt, gz, 0, 0, None)


def has_statement(path: Path, fmt: ox.RdfFormat, gz: bool) -> bool:
    raw, stream = open_binary(path, gz)
    with raw, stream:
        return next(iter(ox.parse(stream, format=fmt)), None) is not None
