"""Write a parsed SPARQL query or update back out as canonical text: the only text the engine runs.

The safety check parses with rdflib, the engine (Oxigraph) parses again, and the two parsers read
some texts differently (shared/reference/security-findings.md, T20): rdflib expands ``\\uXXXX``
in the whole text before parsing, Oxigraph only inside strings and IRIs; rdflib's comments end
at a line feed, Oxigraph's at a bare carriage return too; Oxigraph matches keywords without a
word boundary and tokenises while it parses. So the engine never gets the user's text: it gets
this module's rewrite of rdflib's parse tree, which uses only what both parsers read alike:

- no comments, no escapes other than ``\\\\ \\" \\n \\r \\t \\b \\f`` inside short ``"..."``
  strings, no carriage return or other control character outside strings;
- every IRI written out in full as ``<...>`` (no prefixed names, no BASE), checked by Oxigraph's
  own IRI parser; every literal as ``"..."`` with ``@lang`` or ``^^<datatype>``;
- keywords in upper case and tokens separated by spaces; every compound expression in brackets.

:func:`audit` then re-reads the written text with a strict scanner that knows only those tokens
and refuses anything else (for example a ``SERVICE`` keyword). The caller re-parses the text with
rdflib and compares the algebra with the user's query (:mod:`clinical_kg.sparql_safety`), so a
query this module cannot write faithfully is refused, never changed.
"""

from __future__ import annotations

import re
from typing import Any

import pyoxigraph as ox
from pyparsing import ParseResults
from rdflib import RDF, BNode, Literal, URIRef, Variable
from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Prologue


class UnwritableError(ValueError):
    """The query uses something the canonical form does not write; the message says what."""


# Builtin calls: rdflib's node name -> (keyword, parameter names in order).
_BUILTINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Builtin_REGEX": ("REGEX", ("text", "pattern", "flags")),
    "Builtin_SUBSTR": ("SUBSTR", ("arg", "start", "length")),
    "Builtin_REPLACE": ("REPLACE", ("arg", "pattern", "replacement", "flags")),
    "Builtin_IF": ("IF", ("arg1", "arg2", "arg3")),
    "Builtin_BOUND": ("BOUND", ("arg",)),
    "Builtin_BNODE": ("BNODE", ("arg",)),
    "Builtin_RAND": ("RAND", ()),
    "Builtin_NOW": ("NOW", ()),
    "Builtin_UUID": ("UUID", ()),
    "Builtin_STRUUID": ("STRUUID", ()),
}
_ONE_ARGUMENT = ("STR", "LANG", "DATATYPE", "IRI", "URI", "ABS", "CEIL", "FLOOR", "ROUND", "STRLEN", "UCASE",
                 "LCASE", "ENCODE_FOR_URI", "YEAR", "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ",
                 "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "isIRI", "isURI", "isBLANK", "isLITERAL",
                 "isNUMERIC")  # fmt: skip
_TWO_ARGUMENTS = ("LANGMATCHES", "CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE", "STRAFTER", "STRLANG", "STRDT",
                  "sameTerm")  # fmt: skip
_BUILTINS.update({f"Builtin_{name}": (name.upper(), ("arg",)) for name in _ONE_ARGUMENT})
_BUILTINS.update({f"Builtin_{name}": (name.upper(), ("arg1", "arg2")) for name in _TWO_ARGUMENTS})
_LISTS = {"Builtin_CONCAT": "CONCAT", "Builtin_COALESCE": "COALESCE"}
_AGGREGATES = {f"Aggregate_{n.title().replace('_', '')}": n for n in ("COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE")}
_AGGREGATES["Aggregate_GroupConcat"] = "GROUP_CONCAT"
_OPERATORS = {"ConditionalOrExpression": "||", "ConditionalAndExpression": "&&"}
_VARNAME = re.compile(
    "[0-9_A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd]"
    "[0-9_A-Za-z\u00b7\u0300-\u036f\u203f\u2040\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d"
    "\u037f-\u1fff\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd]*"
)
_BNODE_LABEL = re.compile(r"[A-Za-z0-9_]+")
_LANG = re.compile(r"[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")
_IRI_FORBIDDEN = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_TO_ESCAPE = re.compile(r'[\\"\n\r\t\b\f]')


def write_query(parsed: ParseResults, prologue: Prologue) -> str:
    """The canonical text of a query parsed by rdflib's ``parseQuery`` (prefixes resolved by ``prologue``)."""
    writer = _Writer(prologue)
    writer.query(parsed[1])
    return writer.text()


def write_update(parsed: CompValue, prologues: list[Prologue]) -> str:
    """The canonical text of an update parsed by rdflib's ``parseUpdate``, one prologue per operation."""
    parts = []
    for request, prologue in zip(_f(parsed, "request", []), prologues, strict=True):
        writer = _Writer(prologue)
        writer.update(request)
        parts.append(writer.text())
    return " ; ".join(parts)


# ---------------------------------------------------------------- the audit of the written text

_GRAMMAR_KEYWORDS = ("SELECT", "DISTINCT", "REDUCED", "AS", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC",
                     "LIMIT", "OFFSET", "VALUES", "UNDEF", "CONSTRUCT", "ASK", "DESCRIBE", "OPTIONAL", "UNION",
                     "MINUS", "GRAPH", "FILTER", "BIND", "NOT", "IN", "EXISTS", "SEPARATOR", "INSERT", "DELETE",
                     "DATA", "WITH", "USING", "NAMED", "DEFAULT", "ALL", "CLEAR", "DROP", "CREATE", "ADD", "MOVE",
                     "COPY", "TO", "SILENT")  # fmt: skip
_KEYWORDS = frozenset(
    [*_GRAMMAR_KEYWORDS, *(keyword for keyword, _ in _BUILTINS.values()), *_LISTS.values(), *_AGGREGATES.values()]
)
_SCANNER = re.compile(
    r"""(?P<space>\ +)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    |(?P<string>"(?:[^"\\\n\r]|\\[tbnrf"\\])*")
    |(?P<var>\?[^\s(){}\[\],;.*+/|^!=<>"'@?$-]+)
    |(?P<bnode>_:[A-Za-z0-9_]+)
    |(?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
    |(?P<integer>[0-9]+)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].,;*+/|^!=<>?-])""",
    re.VERBOSE,
)


def audit(text: str) -> None:
    """Refuse a written text that holds any token outside the canonical form (such as SERVICE).

    An independent second reading of exactly the text the engine runs: no comment, escape,
    carriage return, prefixed name or unknown keyword can pass, whatever the writer did. Nor can a
    ``\\u`` followed by hexadecimal digits anywhere, which rdflib would expand before reading.
    """
    if expandUnicodeEscapes_re.search(text):
        raise UnwritableError("a string holds a backslash followed by u and hexadecimal digits")
    position = 0
    while position < len(text):
        match = _SCANNER.match(text, position)
        if match is None:
            raise UnwritableError(f"unexpected text at {position} of the canonical query: {text[position:][:20]!r}")
        if match.lastgroup == "word" and match.group() not in _KEYWORDS:
            raise UnwritableError(f"{match.group()!r} is not a keyword the canonical query may hold")
        if match.lastgroup == "var" and not _VARNAME.fullmatch(match.group()[1:]):
            raise UnwritableError(f"{match.group()!r} is not a variable name")
        position = match.end()


# ---------------------------------------------------------------- the writer


class _Writer:
    def __init__(self, prologue: Prologue) -> None:
        self.prologue = prologue
        self.out: list[str] = []

    def text(self) -> str:
        return " ".join(self.out)

    def emit(self, *tokens: str) -> None:
        self.out.extend(tokens)

    def glue(self, token: str) -> None:
        """Append to the last token with no space (language tags, datatypes, path modifiers)."""
        self.out[-1] += token

    # terms

    def term(self, node: Any) -> None:
        if isinstance(node, CompValue) and node.name == "pname":
            self.iri(self.prologue.absolutize(node))
        elif isinstance(node, CompValue) and node.name == "literal":
            self.literal(node.string, _f(node, "lang"), self.prologue.absolutize(_f(node, "datatype")))
        elif isinstance(node, Variable):
            if not _VARNAME.fullmatch(str(node)):
                raise UnwritableError(f"the variable name ?{node} is not accepted")
            self.emit(f"?{node}")
        elif isinstance(node, BNode):
            if not _BNODE_LABEL.fullmatch(str(node)):
                raise UnwritableError(f"the blank node label _:{node} is not accepted: use letters, digits and _")
            self.emit(f"_:{node}")
        elif isinstance(node, URIRef):
            self.iri(self.prologue.absolutize(node))
        elif isinstance(node, Literal):
            self.literal(str(node), node.language, node.datatype)
        elif node == "UNDEF":
            self.emit("UNDEF")
        else:
            raise UnwritableError(f"cannot write the term {node!r}")

    def iri(self, iri: Any) -> None:
        value = str(iri)
        if _IRI_FORBIDDEN.search(value):
            raise UnwritableError(f"<{value}> holds a character an IRI may not hold")
        try:
            ox.NamedNode(value)
        except ValueError:
            raise UnwritableError(f"<{value}> is not an absolute IRI (relative IRIs need a full form)") from None
        self.emit(f"<{value}>")

    def literal(self, value: str, lang: str | None, datatype: Any) -> None:
        self.emit('"' + _TO_ESCAPE.sub(lambda m: _STRING_ESCAPES[m.group()], str(value)) + '"')
        if lang:
            if not _LANG.fullmatch(lang):
                raise UnwritableError(f"@{lang} is not a language tag")
            self.glue(f"@{lang}")
        elif datatype is not None:
            self.glue("^^")
            self.iri(datatype)
            last = self.out.pop()
            self.glue(last)

    # query forms

    def query(self, node: CompValue) -> None:
        if node.name == "SelectQuery":
            self.select(node)
        elif node.name == "ConstructQuery":
            self.emit("CONSTRUCT")
            if "template" in node:
                self.emit("{")
                self.triples(node.template)
                self.emit("}", "WHERE")
                self.group(node.where)
            else:  # CONSTRUCT WHERE { triples }
                self.emit("WHERE", "{")
                for part in _f(node.where, "part", []):
                    self.triples(part.triples)
                self.emit("}")
        elif node.name == "AskQuery":
            self.emit("ASK", "WHERE")
            self.group(node.where)
        elif node.name == "DescribeQuery":
            self.emit("DESCRIBE")
            described = _f(node, "var")
            if described:
                for term in described:
                    self.term(term)
            else:
                self.emit("*")
            if "where" in node:
                self.emit("WHERE")
                self.group(node.where)
        else:
            raise UnwritableError(f"cannot write a {node.name}")
        if node.name != "SelectQuery":
            self.modifiers(node)
        if "datasetClause" in node:
            raise UnwritableError("FROM and FROM NAMED are not written")

    def select(self, node: CompValue) -> None:
        self.emit("SELECT")
        if _f(node, "modifier"):
            self.emit(str(node.modifier).upper())
        projection = _f(node, "projection")
        if not projection:
            self.emit("*")
        for item in projection or []:
            if "var" in item:
                self.term(item.var)
            else:
                self.emit("(")
                self.expression(item.expr)
                self.emit("AS")
                self.term(item.evar)
                self.emit(")")
        self.emit("WHERE")
        self.group(node.where)
        self.modifiers(node)

    def modifiers(self, node: CompValue) -> None:
        if "groupby" in node:
            self.emit("GROUP", "BY")
            for condition in node.groupby.condition:
                if isinstance(condition, CompValue) and condition.name == "GroupAs":
                    self.emit("(")
                    self.expression(condition.expr)
                    if _f(condition, "var") is not None:
                        self.emit("AS")
                        self.term(condition.var)
                    self.emit(")")
                else:
                    self.operand(condition)
        if "having" in node:
            self.emit("HAVING")
            for condition in node.having.condition:
                self.bracketed(condition)
        if "orderby" in node:
            self.emit("ORDER", "BY")
            for condition in node.orderby.condition:
                if _f(condition, "order"):
                    self.emit(str(condition.order).upper())
                    self.bracketed(condition.expr)
                elif isinstance(condition.expr, Variable):
                    self.term(condition.expr)
                else:
                    self.bracketed(condition.expr)
        if "limitoffset" in node:
            for key in ("limit", "offset"):
                if _f(node.limitoffset, key) is not None:
                    self.emit(key.upper(), str(int(node.limitoffset[key])))
        if "valuesClause" in node:
            self.values(node.valuesClause)

    # graph patterns

    def group(self, node: CompValue) -> None:
        self.emit("{")
        if node.name == "SubSelect":
            self.select(node)
        elif node.name in ("GroupGraphPatternSub", "FakeGroupGraphPatten"):
            for part in _f(node, "part", []):
                self.pattern(part)
        else:
            raise UnwritableError(f"cannot write a {node.name}")
        self.emit("}")

    def pattern(self, part: CompValue) -> None:
        name = part.name
        if name == "TriplesBlock":
            self.triples(part.triples)
        elif name == "Filter":
            self.emit("FILTER")
            self.bracketed(part.expr)
        elif name == "OptionalGraphPattern":
            self.emit("OPTIONAL")
            self.group(part.graph)
        elif name == "MinusGraphPattern":
            self.emit("MINUS")
            self.group(part.graph)
        elif name == "GroupOrUnionGraphPattern":
            for i, graph in enumerate(part.graph):
                if i:
                    self.emit("UNION")
                self.group(graph)
        elif name == "GraphGraphPattern":
            self.emit("GRAPH")
            self.term(part.term)
            self.group(part.graph)
        elif name == "Bind":
            self.emit("BIND", "(")
            self.expression(part.expr)
            self.emit("AS")
            self.term(part.var)
            self.emit(")")
        elif name == "InlineData":
            self.values(part)
        else:  # ServiceGraphPattern above all: the check refuses it before this is reached
            raise UnwritableError(f"cannot write a {name}")

    def triples(self, blocks: Any) -> None:
        for block in blocks:
            block = list(block)
            if len(block) % 3:
                raise UnwritableError("a triple pattern is incomplete")
            for i in range(0, len(block), 3):
                self.term(block[i])
                self.path(block[i + 1])
                self.term(block[i + 2])
                self.emit(".")

    def values(self, node: CompValue) -> None:
        variables = _f(node, "var")
        variables = [] if variables is None or _is_nil(variables) else list(variables)
        rows = list(_f(node, "value", []))
        self.emit("VALUES", "(")
        for variable in variables:
            self.term(variable)
        self.emit(")", "{")
        one_variable = len(variables) == 1 and not any(isinstance(r, (ParseResults, list)) or _is_nil(r) for r in rows)
        for row in rows:
            self.emit("(")
            for value in [row] if one_variable else ([] if _is_nil(row) else list(row)):
                self.term(value)
            self.emit(")")
        self.emit("}")

    # property paths

    def path(self, node: Any, level: int = 0) -> None:
        """A predicate or property path, bracketed where its precedence is below ``level``.

        Levels: 0 alternative ``|``, 1 sequence ``/``, 2 inverse ``^`` or modified ``*+?``, 3 primary.
        """
        node = _simple_path(node)
        if _path_level(node) < level:
            self.emit("(")
            self.path(node)
            self.emit(")")
        elif not isinstance(node, CompValue) or node.name == "pname":
            self.term(node)
        elif node.name in ("PathAlternative", "PathSequence"):
            separator, inner = ("|", 1) if node.name == "PathAlternative" else ("/", 2)
            for i, part in enumerate(node.part):
                if i:
                    self.emit(separator)
                self.path(part, inner)
        elif node.name == "PathElt":
            self.path(node.part, 3)
            self.glue(str(node.mod))
        elif node.name == "PathEltOrInverse":
            self.emit("^")
            inner = _simple_path(node.part)
            self.path(inner, 3 if isinstance(inner, CompValue) and inner.name == "PathEltOrInverse" else 2)
        elif node.name == "PathNegatedPropertySet":
            self.emit("!", "(")
            for i, item in enumerate(_f(node, "part", [])):
                if i:
                    self.emit("|")
                if isinstance(item, CompValue) and item.name == "InversePath":
                    # rdflib's parser drops the IRI of ^iri inside !( ): its reading cannot be checked
                    raise UnwritableError("an inverse IRI inside a negated property set, !(^iri), is not supported")
                self.term(item)
            self.emit(")")
        else:
            raise UnwritableError(f"cannot write the path {node.name}")

    # expressions

    def bracketed(self, node: Any) -> None:
        self.emit("(")
        self.expression(node)
        self.emit(")")

    def operand(self, node: Any) -> None:
        """An expression where a primary expression is expected: bracketed unless it is one."""
        node = _unwrap(node)
        if isinstance(node, CompValue) and (node.name in _COMPOUND or node.name.startswith("Unary")):
            self.bracketed(node)
        else:
            self.expression(node)

    def expression(self, node: Any) -> None:
        node = _unwrap(node)
        if not isinstance(node, CompValue) or node.name in ("pname", "literal"):
            self.term(node)
            return
        name = node.name
        if name in _OPERATORS:
            for i, item in enumerate([node.expr, *node.other]):
                if i:
                    self.emit(_OPERATORS[name])
                self.operand(item)
        elif name == "RelationalExpression":
            self.operand(node.expr)
            operator = str(node.op).upper() if str(node.op).upper() in ("IN", "NOT IN") else str(node.op)
            self.emit(*operator.split())
            if operator in ("IN", "NOT IN"):
                self.arguments([] if _is_nil(node.other) else list(node.other))
            else:
                self.operand(node.other)
        elif name in ("AdditiveExpression", "MultiplicativeExpression"):
            self.operand(node.expr)
            for operator, item in zip(node.op, node.other, strict=True):
                self.emit(str(operator))
                self.operand(item)
        elif name in ("UnaryNot", "UnaryPlus", "UnaryMinus"):
            self.emit({"UnaryNot": "!", "UnaryPlus": "+", "UnaryMinus": "-"}[name])
            self.operand(node.expr)
        elif name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            self.emit(*(["NOT"] if name == "Builtin_NOTEXISTS" else []), "EXISTS")
            self.group(node.graph)
        elif name in _BUILTINS:
            keyword, params = _BUILTINS[name]
            self.emit(keyword)
            self.arguments([node[p] for p in params if _f(node, p) is not None])
        elif name in _LISTS:
            self.emit(_LISTS[name])
            self.arguments([] if _is_nil(node.arg) else list(node.arg))
        elif name in _AGGREGATES:
            self.emit(_AGGREGATES[name] + "(")
            if _f(node, "distinct"):
                self.emit("DISTINCT")
            if node.vars == "*":
                self.emit("*")
            else:
                self.expression(node.vars)
            if _f(node, "separator") is not None:
                self.emit(";", "SEPARATOR", "=")
                self.literal(str(node.separator), None, None)
            self.emit(")")
        elif name == "Function":
            self.term(node.iri)
            self.glue("(")
            if _f(node, "distinct"):
                self.emit("DISTINCT")
            for i, argument in enumerate(_f(node, "expr", [])):
                if i:
                    self.emit(",")
                self.expression(argument)
            self.emit(")")
        else:
            raise UnwritableError(f"cannot write the expression {name}")

    def arguments(self, items: list[Any]) -> None:
        """``(a , b)`` glued to the function name: Oxigraph allows no space after CONCAT, COALESCE, BNODE."""
        self.glue("(")
        for i, item in enumerate(items):
            if i:
                self.emit(",")
            self.expression(item)
        self.emit(")")

    # updates

    def update(self, node: CompValue) -> None:
        name = node.name
        if name in ("InsertData", "DeleteData", "DeleteWhere"):
            self.emit(*{"InsertData": ("INSERT", "DATA"), "DeleteData": ("DELETE", "DATA"),
                        "DeleteWhere": ("DELETE", "WHERE")}[name])  # fmt: skip
            self.quads(node.quads)
        elif name == "Modify":
            if _f(node, "withClause") is not None:
                self.emit("WITH")
                self.term(node.withClause)
            for key, keyword in (("delete", "DELETE"), ("insert", "INSERT")):
                if _f(node, key) is not None:
                    self.emit(keyword)
                    self.quads(node[key].quads)
            for using in _f(node, "using", []):
                self.emit("USING")
                if _f(using, "named") is not None:
                    self.emit("NAMED")
                self.term(_f(using, "named") if _f(using, "named") is not None else using.default)
            self.emit("WHERE")
            self.group(node.where)
        elif name in ("Clear", "Drop", "Create"):
            self.emit(name.upper(), *(["SILENT"] if _f(node, "silent") else []))
            target = node.graphiri
            if isinstance(target, str) and target.upper() in ("DEFAULT", "NAMED", "ALL"):
                self.emit(target.upper())
            else:
                self.emit("GRAPH")
                self.term(target)
        elif name in ("Add", "Move", "Copy"):
            self.emit(name.upper(), *(["SILENT"] if _f(node, "silent") else []))
            for i, target in enumerate(node.graph):
                if i:
                    self.emit("TO")
                if isinstance(target, str) and target.upper() == "DEFAULT":
                    self.emit("DEFAULT")
                else:
                    self.emit("GRAPH")
                    self.term(target)
        else:  # Load above all: the check refuses it before this is reached
            raise UnwritableError(f"cannot write a {name}")

    def quads(self, node: CompValue) -> None:
        self.emit("{")
        self.triples(_f(node, "triples", []))
        for graph in _f(node, "quadsNotTriples", []):
            self.emit("GRAPH")
            self.term(graph.term)
            self.emit("{")
            self.triples(_f(graph, "triples", []))
            self.emit("}")
        self.emit("}")


_COMPOUND = {*_OPERATORS, "RelationalExpression", "AdditiveExpression", "MultiplicativeExpression"}


def _f(node: Any, key: str, default: Any = None) -> Any:
    """A parameter of a parse node, or ``default`` (rdflib's ``CompValue.get`` returns the key when missing)."""
    return dict.get(node, key, default)


def _is_nil(node: Any) -> bool:
    """The empty list ``()``, which rdflib's parser gives as ``rdf:nil``."""
    return isinstance(node, URIRef) and node == RDF.nil


def _simple_path(node: Any) -> Any:
    """Skip a path's single-child levels: an alternative of one sequence of one unmodified element."""
    while isinstance(node, CompValue) and (
        (node.name in ("PathAlternative", "PathSequence") and len(node.part) == 1)
        or (node.name == "PathElt" and not _f(node, "mod"))
    ):
        node = node.part[0] if node.name != "PathElt" else node.part
    return node


def _path_level(node: Any) -> int:
    if not isinstance(node, CompValue):
        return 3
    return {"PathAlternative": 0, "PathSequence": 1, "PathElt": 2, "PathEltOrInverse": 2}.get(node.name, 3)


def _unwrap(node: Any) -> Any:
    """Skip the grammar's single-child levels (an Or of one And of one Relational ... of one term)."""
    while isinstance(node, CompValue) and node.name in _COMPOUND and not _f(node, "other") and not _f(node, "op"):
        node = node.expr
    return node
