"""A tiny arithmetic evaluator for ISF pass sizes (``"$WIDTH/2"``, ``"floor($WIDTH*0.5)+1"``).

ISF files give a pass's ``WIDTH``/``HEIGHT`` as an expression over ``$WIDTH``, ``$HEIGHT``
(the render size) and the file's scalar inputs (float, long, bool, event: by name, with or
without ``$``). The reference host evaluates them with exprtk; this is the subset files use:
numbers, names, ``+ - * / % ^``, unary ``+ -``, comparisons, ``and``/``or``/``not``
(``&& || !``), ``?:``-free ``if(c, a, b)``, parentheses, and the functions below. Never
``eval()``: an expression is parsed once into a tree of tuples and evaluated with a dict of
values. A syntax error is a :class:`ExprError` with the position.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

_FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "floor": (1, math.floor),
    "ceil": (1, math.ceil),
    "round": (1, lambda x: math.floor(x + 0.5)),
    "trunc": (1, math.trunc),
    "abs": (1, abs),
    "sqrt": (1, lambda x: math.sqrt(x) if x >= 0 else math.nan),
    "exp": (1, math.exp),
    "log": (1, lambda x: math.log(x) if x > 0 else math.nan),
    "log2": (1, lambda x: math.log2(x) if x > 0 else math.nan),
    "log10": (1, lambda x: math.log10(x) if x > 0 else math.nan),
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "sgn": (1, lambda x: float((x > 0) - (x < 0))),
    "frac": (1, lambda x: x - math.trunc(x)),
    "min": (2, min),
    "max": (2, max),
    "pow": (2, lambda a, b: _pow(a, b)),
    "clamp": (3, lambda lo, x, hi: min(max(x, lo), hi)),
    "if": (3, lambda c, a, b: a if c else b),
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "true": 1.0, "false": 0.0}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>\$?[A-Za-z_]\w*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[-+*/%^()<>!,]))"
)


class ExprError(ValueError):
    """An expression that cannot be parsed or names an unknown value."""


def _pow(a: float, b: float) -> float:
    try:
        result = a**b
    except (OverflowError, ZeroDivisionError):
        return math.nan
    return result if isinstance(result, float | int) else math.nan


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"unexpected {text[pos:].strip()[:1]!r} at character {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class Expression:
    """A parsed expression: ``Expression("$WIDTH/2").evaluate({"WIDTH": 64})`` → 32.0."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._toks = _tokens(text)
        self._i = 0
        if not self._toks:
            raise ExprError("empty expression")
        self._tree = self._or()
        if self._i != len(self._toks):
            _, value, at = self._toks[self._i]
            raise ExprError(f"unexpected {value!r} at character {at + 1}")
        del self._toks

    @property
    def names(self) -> frozenset[str]:
        """The value names the expression reads (without ``$``)."""
        found: set[str] = set()

        def walk(node: tuple) -> None:
            if node[0] == "var":
                found.add(node[1])
            for child in node[1:]:
                if isinstance(child, tuple):
                    walk(child)
                elif isinstance(child, list):
                    for c in child:
                        walk(c)

        walk(self._tree)
        return frozenset(found)

    # recursive descent, lowest precedence first
    def _peek(self) -> str | None:
        return self._toks[self._i][1] if self._i < len(self._toks) else None

    def _take(self) -> tuple[str, str, int]:
        if self._i >= len(self._toks):
            raise ExprError("expression ends too early")
        tok = self._toks[self._i]
        self._i += 1
        return tok

    def _binary(self, ops: tuple[str, ...], lower: Callable[[], tuple]) -> tuple:
        node = lower()
        while self._peek() in ops or (self._peek() or "").lower() in ops:
            op = self._take()[1].lower()
            node = ("bin", op, node, lower())
        return node

    def _or(self) -> tuple:
        return self._binary(("||", "or"), self._and)

    def _and(self) -> tuple:
        return self._binary(("&&", "and"), self._cmp)

    def _cmp(self) -> tuple:
        return self._binary(("==", "!=", "<", ">", "<=", ">="), self._add)

    def _add(self) -> tuple:
        return self._binary(("+", "-"), self._mul)

    def _mul(self) -> tuple:
        return self._binary(("*", "/", "%"), self._unary)

    def _unary(self) -> tuple:
        if self._peek() in ("-", "+", "!") or (self._peek() or "").lower() == "not":
            op = self._take()[1].lower()
            return ("neg" if op == "-" else "not" if op in ("!", "not") else "pos", self._unary())
        return self._power()

    def _power(self) -> tuple:
        base = self._atom()
        if self._peek() == "^":
            self._take()
            return ("bin", "^", base, self._unary())  # right-associative
        return base

    def _atom(self) -> tuple:
        kind, value, at = self._take()
        if kind == "num":
            return ("num", float(value))
        if kind == "name":
            name = value.lstrip("$")
            if self._peek() == "(" and not value.startswith("$"):
                if name.lower() not in _FUNCTIONS:
                    raise ExprError(f"unknown function {name!r} at character {at + 1}")
                self._take()
                args = [self._or()]
                while self._peek() == ",":
                    self._take()
                    args.append(self._or())
                if self._take()[1] != ")":
                    raise ExprError(f"missing ')' after the arguments of {name!r}")
                arity = _FUNCTIONS[name.lower()][0]
                if len(args) != arity:
                    raise ExprError(f"{name}() takes {arity} argument(s), not {len(args)}")
                return ("call", name.lower(), args)
            if not value.startswith("$") and name.lower() in _CONSTANTS:
                return ("num", _CONSTANTS[name.lower()])
            return ("var", name)
        if value == "(":
            node = self._or()
            if self._peek() != ")":
                raise ExprError(f"missing ')' for the '(' at character {at + 1}")
            self._take()
            return node
        raise ExprError(f"unexpected {value!r} at character {at + 1}")

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The value (NaN for a division by zero or a domain error); unknown names raise."""
        return _eval(self._tree, values)


def _eval(node: tuple, values: Mapping[str, float]) -> float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        if node[1] not in values:
            raise ExprError(f"unknown name {node[1]!r}")
        return float(values[node[1]])
    if kind == "neg":
        return -_eval(node[1], values)
    if kind == "pos":
        return _eval(node[1], values)
    if kind == "not":
        return float(not _eval(node[1], values))
    if kind == "call":
        args = [_eval(a, values) for a in node[2]]
        try:
            return float(_FUNCTIONS[node[1]][1](*args))
        except (ValueError, OverflowError):
            return math.nan
    _, op, left, right = node
    a, b = _eval(left, values), _eval(right, values)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b != 0 else math.nan
    if op == "%":
        return math.fmod(a, b) if b != 0 else math.nan
    if op == "^":
        return _pow(a, b)
    if op == "==":
        return float(a == b)
    if op == "!=":
        return float(a != b)
    if op == "<":
        return float(a < b)
    if op == ">":
        return float(a > b)
    if op == "<=":
        return float(a <= b)
    if op == ">=":
        return float(a >= b)
    if op in ("&&", "and"):
        return float(bool(a) and bool(b))
    return float(bool(a) or bool(b))
