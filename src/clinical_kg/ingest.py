"""The strict reader for curators' candidate files: new triples they want to add to the graph.

``read_candidate`` accepts Turtle (.ttl), N-Triples (.nt), N-Quads (.nq, default graph only) and
JSON-LD (.jsonld, .json, inline contexts only) and returns an rdflib ``Graph``. Anything wrong
with the file is reported as one ``InputError`` (a ``CandidateSyntaxError`` when a position is
known) whose text reads ``FILE:LINE:COL: message`` (1-based), or ``FILE: message``, like a
compiler; no other exception type escapes.

Why it is built this way (see shared/reference/security-findings.md, T4, T6, T7, T13):
- pyoxigraph parses, not rdflib: it fails with one exception type that always has a position,
  rejects IRIs with spaces, and never fetches a JSON-LD context. rdflib raises many exception
  types, accepts bad IRIs and fetches ``http://`` and ``file://`` contexts.
- RDF/XML and TriX are refused by extension: a billion-laughs file under 1 KB hangs rdflib and
  aborts pyoxigraph, and neither can be caught.
- JSON-LD nesting is capped before parsing: pyoxigraph 0.5.13 takes quadratic time on nested
  JSON-LD objects and overflows its stack (SIGSEGV) at about 3,500 levels.
- Ill-typed literals (``"abc"^^xsd:integer``) parse in both libraries; rdflib's
  ``Literal.ill_typed`` finds them after parsing.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
from rdflib import XSD, Graph, Literal
from rdflib.term import Node

from clinical_kg.errors import InputError
from clinical_kg.namespaces import bind_prefixes, prefix_map
from clinical_kg.store import from_oxigraph

DEFAULT_MAX_BYTES = 10_000_000
MAX_JSON_DEPTH = 128
MAX_NESTING = 128  # [ ] and ( ) in Turtle: validation time grows with the square of the depth

FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json": ox.RdfFormat.JSON_LD,
}
ACCEPTED = "Turtle (.ttl), N-Triples (.nt), N-Quads (.nq) or JSON-LD (.jsonld, .json)"
XML_SUFFIXES = {".rdf", ".xml", ".owl", ".trix"}

_NEWLINE = re.compile(r"\r\n|\r|\n")
_OX_POSITION = re.compile(
    r"^Parser error (?:at line \d+ (?:column \d+|between columns \d+ and \d+)"
    r"|between line \d+ column \d+ and line \d+ column \d+): "
)
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
# What can hide a bracket in Turtle (strings, IRIs, comments), then the brackets themselves.
_TURTLE_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n\r]*|[\[\]()]'
)
# Characters refused in literals: controls other than tab and line feed, and Unicode noncharacters.
_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_LANG_BEFORE_HYPHEN = re.compile(r"""["']@[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$""")
_EXAMPLES = {
    "integer": '"42"',
    "decimal": '"1.5"',
    "double": '"1.5e0"',
    "float": '"1.5e0"',
    "boolean": '"true" or "false"',
    "date": '"2024-01-31"',
    "dateTime": '"2024-01-31T09:30:00"',
    "gYear": '"2024"',
    "duration": '"P2W" or "PT15M"',
}


class CandidateSyntaxError(InputError):
    """A candidate file's content is invalid; ``line`` and ``column`` are 1-based when known."""

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        token: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{file}:{line}:{column}" if line is not None and column is not None else file
        super().__init__(f"{where}: {message}", hint=hint)
        self.file = file
        self.line = line
        self.column = column
        self.token = token


def read_candidate(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Graph:
    """Read and strictly check one candidate file; return its triples as a Graph.

    Raises ``InputError`` for a file that cannot be accepted as a whole (missing, too large,
    refused format, empty, binary, UTF-16) and ``CandidateSyntaxError`` for invalid content
    (syntax, encoding, ill-typed literals, remote JSON-LD contexts, named graphs). The first
    error of the file is reported; ill-typed literals are all listed, one per line.
    """
    try:
        return _read(Path(path), str(path), max_bytes)
    except InputError:
        raise
    except Exception as exc:  # anything unexpected still names the file
        raise InputError(f"{path}: cannot read this candidate file ({type(exc).__name__}: {exc})") from exc


def _read(path: Path, name: str, max_bytes: int) -> Graph:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{name}: {_describe(suffix)} not accepted: use {ACCEPTED}", hint=_format_hint(suffix))
    fmt = FORMATS[suffix]
    data = _read_bytes(path, name, max_bytes)
    text = _decode(name, data)
    if not text.strip():
        raise InputError(f"{name}: the file is empty: nothing to add")
    if fmt == ox.RdfFormat.JSON_LD:
        _check_json(name, text)
    elif fmt == ox.RdfFormat.TURTLE:
        _check_nesting(name, text)
    quads = _parse(name, text, fmt)
    graph, ill_typed = _to_graph(name, text, quads, fmt)
    if not len(graph):
        if fmt == ox.RdfFormat.JSON_LD and text.strip() not in {"{}", "[]"}:
            raise InputError(
                f"{name}: no triples: JSON-LD silently drops keys and @id values that are not absolute IRIs",
                hint="define every term in @context and write @id values as full IRIs or prefixed names",
            )
        raise InputError(f"{name}: the file is empty: nothing to add")
    if ill_typed:
        _report_ill_typed(name, text, ill_typed)
    return graph


def _describe(suffix: str) -> str:
    return f"{suffix} files are" if suffix else "files without an extension are"


def _format_hint(suffix: str) -> str:
    if suffix in XML_SUFFIXES:
        return "RDF/XML and TriX are refused on purpose (entity expansion can hang the parser): convert to Turtle"
    if suffix in {".trig", ".n3"}:
        return "put the triples in the default graph and save them as Turtle (.ttl)"
    return "rename the file if it is one of these formats, or convert it to Turtle"


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: not a regular file")
    if info.st_size > max_bytes:
        raise _too_big(name, info.st_size, max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # the file grew after stat
        raise _too_big(name, len(data), max_bytes)
    return data


def _too_big(name: str, size: int, max_bytes: int) -> InputError:
    def mb(size: int) -> str:
        return f"{size / 1_000_000:.1f} MB ({size:,} bytes)"

    return InputError(
        f"{name}: the file is {mb(size)}, over the limit of {mb(max_bytes)} for a candidate file",
        hint="split it into smaller candidate files",
    )


def _decode(name: str, data: bytes) -> str:
    for bom, encoding in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if data.startswith(bom):
            raise InputError(f"{name}: the file is {encoding}, not UTF-8: save it as UTF-8")
    sample = data[:8192]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) >= 4 and max(even, odd) > 0.4 * len(sample) / 2 and min(even, odd) < 0.05 * len(sample) / 2:
        raise InputError(f"{name}: the file is UTF-16, not UTF-8: save it as UTF-8")
    controls = sum(byte < 32 and byte not in b"\t\n\r\f" for byte in sample)
    if 0 in data or controls > 0.1 * len(sample):
        raise InputError(f"{name}: binary file, not RDF text", hint=f"a candidate file is text: {ACCEPTED}")
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark is harmless
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line, column = _position(before, len(before))
        byte = data[exc.start]
        latin = bytes([byte]).decode("cp1252", "replace")
        raise CandidateSyntaxError(
            name,
            f"invalid UTF-8 (byte 0x{byte:02x}): the file is not UTF-8",
            line=line,
            column=column,
            hint=f"save the file as UTF-8 (in Latin-1 or Windows-1252 this byte is {latin!r})",
        ) from None


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``text[index]``; lines end at CR, LF or CRLF."""
    before = text[:index]
    starts = [match.end() for match in _NEWLINE.finditer(before)]
    return len(starts) + 1, len(before) - (starts[-1] if starts else 0) + 1


def _token(text: str, line: int, column: int) -> str | None:
    lines = _NEWLINE.split(text)
    if not 1 <= line <= len(lines):
        return None
    word = re.match(r"\S*", lines[line - 1][column - 1 :])
    return word.group()[:40] if word and word.group() else None


def _find(text: str, *needles: str) -> tuple[int, int] | None:
    """Position of the first needle found in ``text`` (best effort, for errors without one)."""
    for needle in needles:
        index = text.find(needle)
        if index >= 0:
            return _position(text, index)
    return None


def _error_at(
    name: str, text: str, message: str, where: tuple[int, int] | None, hint: str | None = None
) -> CandidateSyntaxError:
    line, column = where if where else (None, None)
    token = _token(text, line, column) if line and column else None
    return CandidateSyntaxError(name, message, line=line, column=column, token=token, hint=hint)


def _check_json(name: str, text: str) -> None:
    """Refuse deep nesting and non-inline @context before the JSON-LD parser sees the file."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _error_at(
                    name,
                    text,
                    f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
                    _position(text, match.start()),
                    hint="flatten the document: give nested nodes an @id and list them at the top level",
                )
        elif match.group() in "]}":
            depth -= 1
    try:
        document = json.loads(text, parse_int=str, parse_float=str)  # numbers are not needed here
    except json.JSONDecodeError as exc:
        _parse(name, text, ox.RdfFormat.JSON_LD)  # its messages are better ("Trailing commas are not allowed")
        raise _error_at(name, text, f"invalid JSON: {exc.msg}", _position(text, exc.pos)) from None
    remote: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    remote += [c for c in (value if isinstance(value, list) else [value]) if isinstance(c, str)]
                elif key == "@import":
                    remote.append(value)
                stack.append(value)
    if remote:
        found = [where for c in remote if (where := _find(text, json.dumps(c), json.dumps(c, ensure_ascii=False)))]
        raise _error_at(
            name,
            text,
            "remote or file contexts are not allowed: inline the context",
            min(found) if found else None,
            hint="copy the context's JSON object into the file in place of its IRI (nothing is fetched)",
        )


def _prelude() -> str:
    """The project's prefixes as Turtle declarations on one line: predeclared for Turtle candidates
    (as for ``ckg sparql``), so a candidate may use ckg:, ckgid:, skos: ... without declaring them."""
    return " ".join(f"@prefix {prefix}: <{namespace}> ." for prefix, namespace in prefix_map().items()) + "\n"


def _check_nesting(name: str, text: str) -> None:
    """Refuse Turtle nested deeper than MAX_NESTING (``[ ]`` and ``( )``), before parsing, in linear time."""
    depth = 0
    for match in _TURTLE_TOKEN.finditer(text):
        token = match.group()
        if token in "[(":
            depth += 1
            if depth > MAX_NESTING:
                raise _error_at(
                    name,
                    text,
                    f"blank nodes or lists nested more than {MAX_NESTING} levels deep",
                    _position(text, match.start()),
                    hint="give deep nodes a name (ckgid:...) and describe each at the top level",
                )
        elif token in "])":
            depth -= 1


def check_text(value: str, what: str) -> None:
    """Refuse control characters other than tab and line feed, and Unicode noncharacters, in ``value``.

    They would be merged raw into data files (git and grep then call them binary) and printed raw
    to terminals (an escape sequence can rewrite the screen).
    """
    found = _FORBIDDEN_CHARACTER.search(value)
    if found:
        raise InputError(f"{what} holds the control character {_codepoint(found.group())}: "
                         "only tab and line feed are allowed", hint="remove it")  # fmt: skip


def _codepoint(character: str) -> str:
    names = {"\x00": "NUL", "\x1b": "ESC", "\r": "carriage return", "\x7f": "DEL"}
    code = f"U+{ord(character):04X}"
    return f"{code} ({names[character]})" if character in names else code


def _parse(name: str, text: str, fmt: ox.RdfFormat) -> list[ox.Quad]:
    prelude = _prelude() if fmt == ox.RdfFormat.TURTLE else ""
    try:
        return list(ox.parse(input=prelude + text, format=fmt, base_iri=None, rename_blank_nodes=True))
    except SyntaxError as exc:
        if prelude and exc.lineno:
            exc.lineno -= 1  # positions in the file as the curator wrote it
        raise _syntax_error(name, text, exc, fmt) from None


def _syntax_error(name: str, text: str, exc: SyntaxError, fmt: ox.RdfFormat) -> CandidateSyntaxError:
    """Map pyoxigraph's SyntaxError (1-based ``lineno``, 1-based ``offset`` in characters)."""
    message = _OX_POSITION.sub("", str(exc.msg))
    message = message if message[1:2].isupper() else message[:1].lower() + message[1:]
    message = "unexpected end of file" if message == "unexpected end" else message
    if not exc.lineno or not exc.offset:
        return CandidateSyntaxError(name, message)
    line, column = exc.lineno, exc.offset
    lang = (
        _LANG_BEFORE_HYPHEN.search(_NEWLINE.split(text)[line - 1][: column - 1])
        if message.startswith("an integer")
        else None
    )
    if lang:  # "@en-" reaches pyoxigraph's lexer as the tag "@en" followed by a number "-"
        column = lang.start() + 2
        message = "invalid language tag"
    token = _token(text, line, column)
    hint = None if fmt == ox.RdfFormat.JSON_LD else _syntax_hint(message, token)
    if token:
        message += f" (near '{token}')"
    return CandidateSyntaxError(name, message, line=line, column=column, token=token, hint=hint)


def _syntax_hint(message: str, token: str | None) -> str | None:
    token = token or ""
    declared = re.search(r"the prefix (\S*): has not been declared", message, re.IGNORECASE)
    if declared:
        prefix = declared.group(1)
        known = ", ".join(f"{p}:" for p in prefix_map())
        return f"declare it at the top: '@prefix {prefix}: <...> .' (predeclared: {known}; `ckg prefixes` lists them)"
    if token.startswith("@") and not message.startswith("invalid language"):
        close = difflib.get_close_matches(token.lower(), ["@prefix", "@base"], n=1)
        if close:
            return f"did you mean {close[0]}?"
    if "language" in message or "subtag" in message:
        return 'language tags look like "en" or "en-GB"'
    if "code point ' '" in message:
        return "IRIs cannot contain spaces: use a hyphen (ckgid:leg-pain) or write %20"
    if "no scheme found" in message.lower():
        return "relative IRIs are not allowed: write a full IRI or a prefixed name such as ckgid:leg"
    if "end of file" in message and token[:1] in {'"', "'"}:
        return f"close the string with {token[0]}"
    if "end of file" in message and token.startswith("<"):
        return "close the IRI with >"
    if "line jumps are not allowed" in message:
        return 'close the string on the same line, or use """ for text over several lines'
    if message.startswith("a dot is expected"):
        return "end the statement before it with ' .'"
    if message.startswith("unexpected end"):
        return "end the last statement with ' .'"
    return None


def _to_graph(name: str, text: str, quads: list[ox.Quad], fmt: ox.RdfFormat) -> tuple[Graph, list[tuple[str, str]]]:
    """The triples of the default graph as an rdflib Graph, and the ill-typed XSD literals."""
    graph = bind_prefixes(Graph(bind_namespaces="none"))
    ill_typed: dict[tuple[str, str], None] = {}
    with _quiet_rdflib():
        for quad in quads:
            if not isinstance(quad.graph_name, ox.DefaultGraph):
                raise _named_graph_error(name, text, fmt)
            triple = (
                _term(name, text, quad.subject),
                _term(name, text, quad.predicate),
                _term(name, text, quad.object),
            )
            obj = triple[2]
            if isinstance(obj, Literal) and _FORBIDDEN_CHARACTER.search(obj):
                raise _control_character_error(name, text, str(obj))
            if isinstance(obj, Literal) and obj.ill_typed and str(obj.datatype).startswith(str(XSD)):
                datatype = str(obj.datatype).removeprefix(str(XSD))
                if not (datatype == "integer" and re.fullmatch(r"\s*[+-]?\d+\s*", obj)):  # over int()'s digit limit
                    ill_typed[(quad.object.value, datatype)] = None
            graph.add(triple)
    return graph, list(ill_typed)


@contextmanager
def _quiet_rdflib() -> Iterator[None]:
    """rdflib warns and logs a traceback for every ill-typed literal; we report them ourselves."""
    logger = logging.getLogger("rdflib.term")
    disabled = logger.disabled
    logger.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.disabled = disabled


def _term(name: str, text: str, term: object) -> Node:
    try:
        return from_oxigraph(term)
    except TypeError:
        pass
    if isinstance(term, ox.Literal):
        raise _error_at(
            name,
            text,
            "directional language tags (--ltr, --rtl) are not supported",
            _find(text, f"@{term.language}--{term.direction}", f"--{term.direction}"),
            hint='write a plain language tag such as "en"',
        )
    raise _error_at(
        name,
        text,
        "RDF 1.2 triple terms and reifiers (<< >>, ~) are not supported",
        _find(text, "<<", "~"),
        hint="describe the statement with a ckg:Assertion record (rdf:subject, rdf:predicate, rdf:object)",
    )


def _control_character_error(name: str, text: str, value: str) -> CandidateSyntaxError:
    character = _FORBIDDEN_CHARACTER.search(value).group()  # type: ignore[union-attr]
    code = ord(character)
    spellings = [character, f"\\u{code:04x}", f"\\u{code:04X}", f"\\U{code:08x}", f"\\U{code:08X}"]
    return _error_at(
        name,
        text,
        f"a literal holds the control character {_codepoint(character)}: only tab and line feed are allowed",
        _find(text, *spellings),
        hint='remove it (a line break is a plain line feed, inside a long string """...""")',
    )


def _named_graph_error(name: str, text: str, fmt: ox.RdfFormat) -> CandidateSyntaxError:
    message = "named graphs are not allowed: candidate triples go in the default graph"
    if fmt != ox.RdfFormat.N_QUADS:
        return _error_at(name, text, message, _find(text, '"@graph"'), hint="remove the top-level @id next to @graph")
    where = None
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        quad = next(iter(ox.parse(input=line, format=fmt, base_iri=None)), None)
        if quad is not None and not isinstance(quad.graph_name, ox.DefaultGraph):
            label = quad.graph_name
            written = f"<{label.value}>" if isinstance(label, ox.NamedNode) else f"_:{label.value}"
            where = (number, line.rfind(written) + 1 if written in line else 1)
            break
    return _error_at(name, text, message, where, hint="remove the graph name (the fourth term) or save as .nt")


def _report_ill_typed(name: str, text: str, literals: list[tuple[str, str]]) -> None:
    problems = []
    for lexical, datatype in literals:
        quoted = json.dumps(lexical, ensure_ascii=False)
        where = _find(text, f"{quoted}^^", f"'{lexical}'^^", quoted, lexical)
        problems.append((where is None, where or (0, 0), f"{quoted} is not a valid xsd:{datatype}", quoted, datatype))
    problems.sort()  # by position; the ones not found in the text last
    lines = [problems[0][2]] + [
        f"{name}: {message}" if missing else f"{name}:{line}:{column}: {message}"
        for missing, (line, column), message, _, _ in problems[1:]
    ]
    missing, (line, column), _, quoted, _ = problems[0]
    datatypes = dict.fromkeys(datatype for *_, datatype in problems)
    examples = [f"xsd:{datatype} looks like {_EXAMPLES[datatype]}" for datatype in datatypes if datatype in _EXAMPLES]
    raise CandidateSyntaxError(
        name,
        "\n".join(lines),  # one line per ill-typed literal, compiler style
        line=None if missing else line,
        column=None if missing else column,
        token=quoted,
        hint="; ".join(examples) or None,
    )
