"""The OData query language of the stand-in, shared by both dialects (:mod:`standin.v3`,
:mod:`standin.v4`): the ``$filter`` tokenizer and parser, ``$select``, ``$orderby``,
``$top``/``$skip``, the query string itself, and :func:`apply_query`, which applies them to the
rows of an entity set and cuts out one page.

It knows nothing about HTTP, files or URLs: a dialect parses the query string with the options it
accepts, hands its rows to :func:`apply_query` and builds its own next-page link from the result.
Every problem is an :class:`ODataError` with status 400 naming it; the class lives here because
this is the bottom layer, and the dialects raise it too (404 for an unknown table or entity), so
the server answers every request error the same way.

The two dialects differ only in ``$filter`` (:func:`parse_filter`): v3 (``opendata.cbs.nl``) has
``substringof(needle, F)``; v4 (``datasets.cbs.nl``) has ``contains(F, needle)`` and OData 4.01's
``F in ('a','b')``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


class ODataError(Exception):
    """A request error, answered with ``status`` and the dialect's JSON error body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------------------------
# $filter: tokenizer and recursive-descent parser producing a predicate over a row dict.
#
#   or_expr    := and_expr ("or" and_expr)*
#   and_expr   := comparison ("and" comparison)*
#   comparison := unary (("eq"|"ne"|"gt"|"ge"|"lt"|"le") unary)?
#                 | unary "in" "(" literal ("," literal)* ")"          (v4 only)
#   unary      := "not" unary | primary
#   primary    := "(" or_expr ")" | function "(" args ")" | string | number | null | true
#                 | false | field
#
# Nodes carry a kind: "bool" (a condition) or "value"; and/or/not need conditions, and the whole
# filter must be one. Comparisons are exact (stored CBS keys keep their space padding); a
# comparison with null is false except "eq null" / "ne null", as in OData.
# --------------------------------------------------------------------------------------------

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
_Node = tuple[str, Callable[[Row], Any]]  # (kind, evaluate)

_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),])"
)
_COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_LITERALS = {"null": None, "true": True, "false": False}
_KEYWORDS = {"and", "or", "not", *_COMPARISONS}
# name -> (number of arguments, node kind, implementation on strings)
_FUNCTIONS: dict[str, tuple[int, str, Callable[..., Any]]] = {
    "substringof": (2, "bool", lambda needle, haystack: needle in haystack),
    "startswith": (2, "bool", lambda s, prefix: s.startswith(prefix)),
    "endswith": (2, "bool", lambda s, suffix: s.endswith(suffix)),
    "tolower": (1, "value", str.lower),
    "toupper": (1, "value", str.upper),
    "trim": (1, "value", str.strip),
    "length": (1, "value", len),
}


@dataclass(frozen=True)
class _Token:
    kind: str  # str | num | name | ( | ) | , | end
    value: Any
    pos: int

    def describe(self) -> str:
        return "end of filter" if self.kind == "end" else f"{self.text!r} at position {self.pos}"

    @property
    def text(self) -> str:
        return str(self.value) if self.kind != "str" else "'" + self.value.replace("'", "''") + "'"


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise ODataError(400, f"$filter: unterminated string literal at position {pos}")
            raise ODataError(400, f"$filter: unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup
        raw = m.group()
        if kind == "str":
            tokens.append(_Token("str", raw[1:-1].replace("''", "'"), pos))
        elif kind == "num":
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("num", number, pos))
        elif kind == "name":
            tokens.append(_Token("name", raw, pos))
        elif kind == "punct":
            tokens.append(_Token(raw, raw, pos))
        pos = m.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    if isinstance(a, str) != isinstance(b, str):
        raise ODataError(400, f"$filter: cannot compare {a!r} with {b!r} using '{op}'")
    return _COMPARISONS[op](a, b)


class _FilterParser:
    def __init__(self, text: str, columns: list[str] | None,
                 functions: dict[str, tuple[int, str, Callable[..., Any]]] | None = None,
                 allow_in: bool = False):
        self.tokens = _tokenize(text)
        self.i = 0
        self.columns = None if columns is None else set(columns)
        self.functions = _FUNCTIONS if functions is None else functions
        self.allow_in = allow_in  # OData 4.01: Field in ('a','b')

    def parse(self) -> Predicate:
        kind, fn = self._or()
        tok = self._peek()
        if tok.kind != "end":
            raise self._error(f"unexpected {tok.describe()}")
        if kind != "bool":
            raise self._error("the filter is a value, not a condition")
        return fn

    # helpers
    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is_word(self, word: str) -> bool:
        tok = self._peek()
        return tok.kind == "name" and tok.value == word

    def _expect(self, kind: str) -> _Token:
        tok = self._next()
        if tok.kind != kind:
            raise self._error(f"expected {kind!r} but found {tok.describe()}")
        return tok

    @staticmethod
    def _error(message: str) -> ODataError:
        return ODataError(400, f"$filter: {message}")

    def _condition(self, node: _Node, what: str) -> Callable[[Row], Any]:
        if node[0] != "bool":
            raise self._error(f"'{what}' needs a condition on both sides (use parentheses)")
        return node[1]

    # grammar
    def _or(self) -> _Node:
        left = self._and()
        while self._is_word("or"):
            self._next()
            a, b = self._condition(left, "or"), self._condition(self._and(), "or")
            left = ("bool", lambda row, a=a, b=b: bool(a(row)) or bool(b(row)))
        return left

    def _and(self) -> _Node:
        left = self._comparison()
        while self._is_word("and"):
            self._next()
            a, b = self._condition(left, "and"), self._condition(self._comparison(), "and")
            left = ("bool", lambda row, a=a, b=b: bool(a(row)) and bool(b(row)))
        return left

    def _comparison(self) -> _Node:
        left = self._unary()
        tok = self._peek()
        if tok.kind == "name" and tok.value in _COMPARISONS:
            self._next()
            right = self._unary()
            op, a, b = tok.value, left[1], right[1]
            return ("bool", lambda row: _compare(op, a(row), b(row)))
        if self.allow_in and self._is_word("in"):
            self._next()
            self._expect("(")
            items = [self._expect_literal()]
            while self._peek().kind == ",":
                self._next()
                items.append(self._expect_literal())
            self._expect(")")
            a, allowed = left[1], frozenset(items)
            return ("bool", lambda row: a(row) in allowed)
        return left

    def _expect_literal(self) -> Any:
        tok = self._next()
        if tok.kind not in ("str", "num"):
            raise self._error(f"'in' takes a list of literals, found {tok.describe()}")
        return tok.value

    def _unary(self) -> _Node:
        if self._is_word("not"):
            self._next()
            kind, fn = self._unary()
            if kind != "bool":
                raise self._error("'not' needs a condition, e.g. not (RegioS eq 'NL01  ')")
            return ("bool", lambda row: not fn(row))
        return self._primary()

    def _primary(self) -> _Node:
        tok = self._next()
        if tok.kind == "(":
            node = self._or()
            self._expect(")")
            return node
        if tok.kind in ("str", "num"):
            return ("value", lambda row, v=tok.value: v)
        if tok.kind == "name":
            name = tok.value
            if name in _LITERALS:
                value = _LITERALS[name]
                return ("bool" if isinstance(value, bool) else "value", lambda row: value)
            if self._peek().kind == "(":
                return self._function(tok)
            if name in _KEYWORDS:
                raise self._error(f"unexpected {tok.describe()}")
            if self.columns is not None and name not in self.columns:
                raise self._error(f"unknown field '{name}' at position {tok.pos}")
            return ("value", lambda row: row.get(name))
        raise self._error(f"unexpected {tok.describe()}")

    def _function(self, tok: _Token) -> _Node:
        name = tok.value
        if name not in self.functions:
            raise self._error(f"unknown function '{name}' at position {tok.pos}")
        arity, kind, impl = self.functions[name]
        self._expect("(")
        args: list[Callable[[Row], Any]] = []
        while True:
            node = self._or()
            if node[0] != "value":
                raise self._error(f"{name}() takes values, not conditions")
            args.append(node[1])
            if self._peek().kind == ",":
                self._next()
                continue
            self._expect(")")
            break
        if len(args) != arity:
            raise self._error(f"{name}() takes {arity} argument(s), got {len(args)}")

        def call(row: Row) -> Any:
            values = [arg(row) for arg in args]
            if any(v is None for v in values):
                return False if kind == "bool" else None
            if not all(isinstance(v, str) for v in values):
                raise self._error(f"{name}() needs text arguments, got {values!r}")
            return impl(*values)

        return (kind, call)


# OData v4 (datasets.cbs.nl): contains() instead of substringof(), and the 'in' operator
V4_FUNCTIONS = {**{k: v for k, v in _FUNCTIONS.items() if k != "substringof"},
                "contains": (2, "bool", lambda haystack, needle: needle in haystack)}


def parse_filter(text: str, columns: list[str] | None = None, dialect: str = "v3") -> Predicate:
    """Parse an OData ``$filter`` into a predicate; ``columns`` (when known) are the valid fields.
    ``dialect`` "v4" takes ``contains(F,'x')`` and ``F in ('a','b')`` (not ``substringof``).

    Raises :class:`ODataError` (status 400) naming the problem.
    """
    if dialect == "v4":
        return _FilterParser(text, columns, V4_FUNCTIONS, allow_in=True).parse()
    return _FilterParser(text, columns).parse()


# --------------------------------------------------------------------------------------------
# $select, $orderby, $top/$skip, the query string, and all of them applied to an entity set
# --------------------------------------------------------------------------------------------


def _parse_select(text: str, columns: list[str] | None) -> list[str] | None:
    fields: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            raise ODataError(400, f"$select: empty column name in {text!r}")
        if name == "*":
            return None
        if columns is not None and name not in columns:
            raise ODataError(400, f"$select: unknown column '{name}'")
        if name not in fields:
            fields.append(name)
    return fields


def _order_rows(rows: list[Row], text: str, columns: list[str] | None) -> list[Row]:
    keys: list[tuple[str, bool]] = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(400, f"$orderby: cannot parse {item.strip()!r}")
        if columns is not None and words[0] not in columns:
            raise ODataError(400, f"$orderby: unknown column '{words[0]}'")
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    rows = list(rows)
    try:
        for name, descending in reversed(keys):  # stable sorts, least significant key first
            rows.sort(key=lambda r, n=name: (r.get(n) is not None, r.get(n)), reverse=descending)
    except TypeError as exc:
        raise ODataError(400, f"$orderby: values cannot be ordered ({exc})") from None
    return rows


def _count(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise ODataError(400, f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def parse_query(query: str, options: tuple[str, ...]) -> dict[str, str]:
    """The query string as a dict; a ``$`` option outside ``options`` (the dialect's) or an option
    given twice is a 400. Other parameters (as ``reset=1``) pass through."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.startswith("$") and key not in options:
            raise ODataError(400, f"query option '{key}' is not supported")
        if key in params:
            raise ODataError(400, f"query option '{key}' is given more than once")
        params[key] = value
    return params


def apply_query(
    rows: list[Row], columns: list[str], params: dict[str, str], page_size: int | None,
    dialect: str = "v3",
) -> tuple[list[Row], int | None, int | None]:
    """Apply ``$filter``, ``$orderby``, ``$skip``/``$top`` and ``$select`` to ``rows`` and cut out
    the first page of at most ``page_size`` rows (None: no paging). Return that page and, when
    more rows follow, the ``$skip`` and ``$top`` (None: no limit) of the next page, from which the
    dialect builds its next link."""
    known = columns if rows else None  # an empty set has no columns to check against
    fields = _parse_select(params["$select"], known) if params.get("$select") else None
    predicate = (parse_filter(params["$filter"], known, dialect) if params.get("$filter")
                 else None)
    top, skip = _count(params, "$top"), _count(params, "$skip") or 0
    if predicate is not None:
        rows = [row for row in rows if predicate(row)]
    if params.get("$orderby"):
        rows = _order_rows(rows, params["$orderby"], known)
    window = rows[skip:] if top is None else rows[skip : skip + top]
    more = page_size is not None and len(window) > page_size
    page = window[:page_size] if more else window
    if fields is not None:
        page = [{f: row.get(f) for f in fields} for row in page]
    if not more:
        return page, None, None
    return page, skip + len(page), None if top is None else top - len(page)
