"""Safe parser for user-typed surface formulas such as ``sin(x) * y^2``.

The text is parsed with :mod:`ast` (``mode="eval"``) and every node is checked
against an explicit whitelist; what survives becomes a tree of small closures
over torch tensors. Nothing is ever compiled to code or executed, and all
arithmetic, constants included, happens in torch on floating-point tensors,
so ``9^9^9^9`` overflows to ``inf`` instead of hanging.

Grammar (printable ASCII only): decimal numbers (``|v| <= 1e12``), ``x``,
``y``, ``pi``, ``e``; ``+ - * / **`` and ``^`` (power, right-associative);
unary ``+ -``; brackets; calls of the functions in :func:`describe_functions`
with exactly their number of positional arguments. Everything else raises
:class:`ExpressionError` naming the token and its 1-based column.

.. note::
    ``^`` is rewritten to ``**`` before parsing rather than mapped from
    ``ast.BitXor``: Python gives ``^`` a lower precedence than ``+``, so
    ``x^2 + y^2`` would otherwise parse as ``x ^ (2 + y) ^ 2``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.nn.functional as F
from torch import Tensor

from backend.settings import current_settings

MAX_DEPTH = 40  # nesting depth of the expression tree (and of brackets)
MAX_NODES = 400  # expression nodes: numbers, names, operators, calls
MAX_CONSTANT = 1e12  # largest magnitude of a numeric literal

_Node = Callable[[Tensor, Tensor], Tensor]  # (x, y) -> value, all shaped like x

_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "abs": torch.abs,
    "acos": torch.acos,
    "asin": torch.asin,
    "atan": torch.atan,
    "ceil": torch.ceil,
    "cos": torch.cos,
    "cosh": torch.cosh,
    "exp": torch.exp,
    "floor": torch.floor,
    "log": torch.log,
    "log10": torch.log10,
    "log2": torch.log2,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "sign": torch.sign,
    "sin": torch.sin,
    "sinh": torch.sinh,
    "softplus": F.softplus,
    "sqrt": torch.sqrt,
    "tan": torch.tan,
    "tanh": torch.tanh,
}
_BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "atan2": torch.atan2,
    "hypot": torch.hypot,
    "max": torch.maximum,
    "min": torch.minimum,
    "pow": torch.pow,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_NAMES = ", ".join(["x", "y", *_CONSTANTS])
_OPERATORS: dict[type[ast.operator], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: torch.pow,
}
# symbols of rejected operators, used to point at them in messages
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
    ast.And: "and",
    ast.Or: "or",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is",
    ast.In: "in",
    ast.NotIn: "not",
}
_TOKEN = re.compile(r"[A-Za-z_]\w*|\.?\d[\w.]*|\*\*|//|<=|>=|==|!=|:=|<<|>>|\S")
# words and decimal numbers, left to right: a number glued to a word ("2x", "1if")
_WORD = r"(?P<word>[A-Za-z_]\w*)"
_NUMBER = r"(?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)"
_LEXEME = re.compile(rf"{_WORD}|{_NUMBER}|.", re.DOTALL)


class ExpressionError(ValueError):
    """A formula that is not allowed; message names the offending token and its column."""

    def __init__(self, message: str, token: str | None = None, column: int | None = None):
        super().__init__(message)
        self.token = token
        self.column = column  # 1-based, in the original text


@dataclass(frozen=True)
class Expression:
    """A parsed formula: ``fn`` maps points ``(..., 2)`` to values ``(...)``."""

    text: str
    fn: Callable[[Tensor], Tensor]


def describe_functions() -> list[str]:
    """Names of the functions a formula may call, sorted."""
    return sorted([*_UNARY, *_BINARY])


# The characters a formula may hold, as a JSON Schema pattern: printable ASCII and blanks but
# `#` and `\`, and not only blanks. What the parser does with them is `grammar()`.
FORMULA_PATTERN = r'^[\t-\r -"$-\[\]-~]*[!"$-\[\]-~][\t-\r -"$-\[\]-~]*$'


def grammar() -> str:
    """The grammar in one paragraph, for documents (the OpenAPI description of a formula)."""
    return (
        f"A formula in x and y: numbers (|v| ≤ {MAX_CONSTANT:g}), x, y, pi, e; + - * / and ** or ^ "
        f"(power, right-associative); unary + -; brackets; calls of {', '.join(sorted(_UNARY))} "
        f"(one argument) and {', '.join(sorted(_BINARY))} (two). At most {MAX_DEPTH} levels deep and "
        f"{MAX_NODES} parts; anything else is refused naming the token and its column."
    )


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into a differentiable torch function of ``p = (x, y)``."""
    parser = _Parser(text)
    root, varying = parser.build(parser.parse(), depth=1)

    def fn(p: Tensor) -> Tensor:
        if not p.is_floating_point():
            p = p.to(torch.get_default_dtype())
        x, y = p.unbind(-1)  # (...) each
        out = root(x, y)
        if not varying:  # keep constant surfaces on the autograd graph, gradient 0
            out = torch.where(torch.ones_like(x, dtype=torch.bool), out, x)
        return out

    return Expression(text=text, fn=fn)


def _const(value: float) -> _Node:
    return lambda x, y: torch.full_like(x, value)


def _apply1(f: Callable[[Tensor], Tensor], a: _Node) -> _Node:
    return lambda x, y: f(a(x, y))


def _apply2(f: Callable[[Tensor, Tensor], Tensor], a: _Node, b: _Node) -> _Node:
    return lambda x, y: f(a(x, y), b(x, y))


def _check_glued_numbers(text: str) -> None:
    """Reject a number followed directly by a word, e.g. ``2x`` or ``0x1F``.

    Python would call this an invalid literal, or only warn about it (``1if``).
    """
    previous: re.Match[str] | None = None
    for lexeme in _LEXEME.finditer(text):
        if lexeme["word"] and previous is not None and previous["number"]:
            number, word, column = previous["number"], lexeme["word"], lexeme.start() + 1
            raise ExpressionError(
                f"missing operator between {number!r} and {word!r} at column {column}",
                word,
                column,
            )
        previous = lexeme


def _end(node: ast.expr) -> int:
    return node.col_offset if node.end_col_offset is None else node.end_col_offset


class _Parser:
    """Checks one formula against the whitelist and builds its closure tree."""

    def __init__(self, text: str):
        self.text = text
        self.source, self.origin = self._prepare(text)  # origin[i]: index in text
        self.nodes = 0

    def fail(self, what: str, index: int | None, token: str | None, hint: str = "") -> NoReturn:
        """Raise an error at ``index`` of the source (None: no position)."""
        column = None
        if index is not None:
            inside = 0 <= index < len(self.origin)
            column = self.origin[index] + 1 if inside else len(self.text) + 1
            what = f"{what} at column {column}"
        raise ExpressionError(f"{what} ({hint})" if hint else what, token, column)

    def token(self, index: int) -> str:
        """The token of the original text starting at source ``index``."""
        if not 0 <= index < len(self.origin):
            return ""
        match = _TOKEN.match(self.text, self.origin[index])
        return match.group() if match else self.text[self.origin[index]]

    def _prepare(self, text: str) -> tuple[str, list[int]]:
        """Check characters and brackets; rewrite ``^`` and blanks for Python's parser."""
        max_length = current_settings().max_expression_length
        if len(text) > max_length:
            raise ExpressionError(
                f"formula is too long at column {max_length + 1} "
                f"({len(text)} characters, limit {max_length})",
                None,
                max_length + 1,
            )
        chars: list[str] = []
        origin: list[int] = []
        depth = 0
        for i, ch in enumerate(text):
            ch = " " if ch in "\t\n\r\f\v" else ch  # one line, same columns
            if not " " <= ch <= "~" or ch in "#\\":
                what = "comment" if ch == "#" else f"U+{ord(ch):04X}"
                raise ExpressionError(
                    f"character {ch!r} ({what}) is not allowed at column {i + 1}", ch, i + 1
                )
            depth += (ch in "([{") - (ch in ")]}")
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"brackets nested deeper than {MAX_DEPTH} at column {i + 1}", ch, i + 1
                )
            if ch == " " and not chars:
                continue  # leading blanks would be an indentation error
            pieces = "**" if ch == "^" else ch
            chars.append(pieces)
            origin.extend([i] * len(pieces))
        if not chars:
            raise ExpressionError("formula is empty")
        _check_glued_numbers(text)
        return "".join(chars), origin

    def parse(self) -> ast.expr:
        """Run Python's parser, turning its failures into ExpressionError."""
        try:
            return ast.parse(self.source, mode="eval").body
        except SyntaxError as err:
            index = (err.offset or 0) - 1
            message = (err.msg or "invalid syntax").split(". Perhaps")[0]
            if 0 <= index < len(self.source):
                token = self.token(index)
                self.fail(f"syntax error near {token!r}", index, token, message)
            self.fail("formula ends too early", len(self.source), None, message)
        except (RecursionError, MemoryError, ValueError):
            self.fail("formula is too complex to parse", None, None)

    def build(self, node: ast.expr, depth: int) -> tuple[_Node, bool]:
        """Closure for ``node`` and whether it depends on x or y."""
        self.nodes += 1
        if depth > MAX_DEPTH:
            self.fail(
                f"formula is nested deeper than {MAX_DEPTH} levels",
                node.col_offset,
                self.token(node.col_offset),
            )
        if self.nodes > MAX_NODES:
            self.fail(
                f"formula has more than {MAX_NODES} parts",
                node.col_offset,
                self.token(node.col_offset),
            )
        if isinstance(node, ast.Constant):
            return _const(self.number(node)), False
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            inner, varying = self.build(node.operand, depth + 1)
            return (inner if isinstance(node.op, ast.UAdd) else _apply1(torch.neg, inner)), varying
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, left_varying = self.build(node.left, depth + 1)
            right, right_varying = self.build(node.right, depth + 1)
            combined = _apply2(_OPERATORS[type(node.op)], left, right)
            return combined, left_varying or right_varying
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        return self.reject(node)

    def number(self, node: ast.Constant) -> float:
        """A numeric literal as a float, or an error for anything else."""
        first, last = self.origin[node.col_offset], self.origin[_end(node) - 1]
        value, token = node.value, self.text[first : last + 1][:20]
        kinds = {str: "string", bytes: "bytes", complex: "complex number", bool: "boolean"}
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = kinds.get(type(value), "constant")
            self.fail(f"{kind} {token} is not allowed", node.col_offset, token)
        # compare before float(): a huge int literal would overflow it
        if not (abs(value) <= MAX_CONSTANT and math.isfinite(value)):
            self.fail(
                f"number {token} is too large", node.col_offset, token, f"limit {MAX_CONSTANT:g}"
            )
        return float(value)

    def name(self, node: ast.Name) -> tuple[_Node, bool]:
        """``x``, ``y`` or a named constant."""
        if node.id == "x":
            return (lambda x, y: x), True
        if node.id == "y":
            return (lambda x, y: y), True
        if node.id in _CONSTANTS:
            return _const(_CONSTANTS[node.id]), False
        hint = f"allowed: {_NAMES}"
        if node.id in _UNARY or node.id in _BINARY:
            hint = f"{node.id} is a function: write {node.id}(...)"
        self.fail(f"unknown name {node.id!r}", node.col_offset, node.id, hint)

    def call(self, node: ast.Call, depth: int) -> tuple[_Node, bool]:
        """A whitelisted function with exactly its number of positional arguments."""
        if not isinstance(node.func, ast.Name):
            token = self.token(node.func.col_offset)
            self.fail("only named functions can be called", node.func.col_offset, token)
        name = node.func.id
        if name not in _UNARY and name not in _BINARY:
            self.fail(
                f"function {name!r} is not allowed",
                node.func.col_offset,
                name,
                f"allowed: {', '.join(describe_functions())}",
            )
        for keyword in node.keywords:
            token = "**" if keyword.arg is None else f"{keyword.arg}="
            self.fail(
                f"keyword argument {token!r} is not allowed in {name}()", keyword.col_offset, token
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail("'*' (argument unpacking) is not allowed", arg.col_offset, "*")
        arity = 1 if name in _UNARY else 2
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            self.fail(
                f"function {name!r} takes {arity} {plural}, got {len(node.args)}",
                node.func.col_offset,
                name,
            )
        built = [self.build(arg, depth + 1) for arg in node.args]
        varying = any(v for _, v in built)
        if arity == 1:
            return _apply1(_UNARY[name], built[0][0]), varying
        return _apply2(_BINARY[name], built[0][0], built[1][0]), varying

    def reject(self, node: ast.expr) -> NoReturn:
        """Raise an error naming the construct of ``node`` and where it starts."""
        start, stop = node.col_offset, _end(node)
        symbol, what = self.token(start), f"{type(node).__name__} expression"
        if isinstance(node, ast.Attribute):
            symbol, what, start = ".", "attribute access", _end(node.value)
        elif isinstance(node, ast.Subscript):
            symbol, what, start = "[", "indexing", _end(node.value)
        elif isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare):
            symbol, what = self.operator_symbol(node), "operator"
            left = node.left if isinstance(node, ast.BinOp | ast.Compare) else None
            left = node.values[0] if isinstance(node, ast.BoolOp) else left
            start = start if left is None else _end(left)
        elif isinstance(node, ast.IfExp):
            symbol, what, start = "if", "conditional expression", _end(node.body)
        elif isinstance(node, ast.NamedExpr):
            symbol, what, start = ":=", "assignment", _end(node.target)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            element = node.value if isinstance(node, ast.DictComp) else node.elt
            symbol, what, start = "for", "comprehension", _end(element)
        elif isinstance(node, ast.Tuple) and node.elts:
            symbol, what, start = ",", "tuple", _end(node.elts[0])
        else:
            kinds = {
                ast.Lambda: "function definition",
                ast.List: "list",
                ast.Set: "set",
                ast.Dict: "dict",
                ast.Tuple: "tuple",
                ast.JoinedStr: "f-string",
            }
            what = kinds.get(type(node), what)
        found = self.source.find(symbol, start, max(stop, start + len(symbol)))
        index = found if found >= 0 else node.col_offset
        self.fail(f"{symbol!r} ({what}) is not allowed", index, symbol)

    @staticmethod
    def operator_symbol(node: ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare) -> str:
        """The source symbol of a rejected operator node."""
        op = node.ops[0] if isinstance(node, ast.Compare) else node.op
        return _SYMBOLS.get(type(op), type(op).__name__)
