"""Tests for backend.surfaces.expressions: autograd oracles, rejections, fuzzing."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import Tensor

import backend.surfaces.expressions as expressions
from backend.settings import get_settings
from backend.surfaces.expressions import (
    MAX_DEPTH,
    MAX_NODES,
    ExpressionError,
    describe_functions,
    parse_expression,
)

MAX_LENGTH = get_settings().max_expression_length

Ref = Callable[[Tensor, Tensor], Tensor]  # (x, y) -> value
WIDE = (-2.0, 2.0)
POSITIVE = (0.1, 0.9)  # where log, sqrt, asin and acos are all defined

# text, oracle, domain of the random points
VALID: list[tuple[str, Ref, tuple[float, float]]] = [
    ("x", lambda x, y: x, WIDE),
    ("x^2 + y^2", lambda x, y: x**2 + y**2, WIDE),
    ("x**2 + y**2", lambda x, y: x**2 + y**2, WIDE),
    ("-x^2", lambda x, y: -(x**2), WIDE),
    ("(-x)^2", lambda x, y: x**2, WIDE),
    ("2*x^2 - y^3", lambda x, y: 2 * x**2 - y**3, WIDE),
    ("2^x^2", lambda x, y: 2 ** (x**2), WIDE),
    ("x^-2", lambda x, y: x ** (-2.0), POSITIVE),
    ("(1 - x)^2 + 100*(y - x^2)^2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, WIDE),
    ("x / (1 + y^2) - y / 3", lambda x, y: x / (1 + y**2) - y / 3, WIDE),
    ("+x - -y", lambda x, y: x + y, WIDE),
    ("sin(x) * cos(y) + tanh(x*y)", lambda x, y: x.sin() * y.cos() + (x * y).tanh(), WIDE),
    (
        "exp(-(x^2 + y^2) / 2) * log(2 + y)",
        lambda x, y: (-(x**2 + y**2) / 2).exp() * (2 + y).log(),
        WIDE,
    ),
    ("sqrt(x^2 + y^2 + 1)", lambda x, y: (x**2 + y**2 + 1).sqrt(), WIDE),
    (
        "abs(x) + relu(y) + sign(x) + floor(y) + ceil(x)",
        lambda x, y: x.abs() + y.relu() + x.sign() + y.floor() + x.ceil(),
        WIDE,
    ),
    ("min(x, y) + max(x, y^2)", lambda x, y: torch.minimum(x, y) + torch.maximum(x, y**2), WIDE),
    (
        "atan2(y, x) + hypot(x, y) + pow(x, 2)",
        lambda x, y: torch.atan2(y, x) + torch.hypot(x, y) + x**2,
        WIDE,
    ),
    ("pi * e * x", lambda x, y: math.pi * math.e * x, WIDE),
    ("1e-3*x + 1_000*y + 0.5 + .25", lambda x, y: 1e-3 * x + 1000 * y + 0.75, WIDE),
    ("  x\n+ y\t", lambda x, y: x + y, WIDE),
    ("3", lambda x, y: 3 + 0 * x, WIDE),
    ("exp(x)**exp(exp(x))", lambda x, y: x.exp() ** x.exp().exp(), WIDE),  # inf is fine
    ("9^9^9^9 * x", lambda x, y: torch.full_like(x, math.inf) * x, WIDE),
]

# every allowed function with an oracle written independently where that is easy
FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "abs": lambda a: torch.where(a < 0, -a, a),
    "acos": torch.acos,
    "asin": torch.asin,
    "atan": torch.atan,
    "atan2": lambda a, b: torch.atan(a / b),  # b > 0 on POSITIVE
    "ceil": torch.ceil,
    "cos": torch.cos,
    "cosh": lambda a: (a.exp() + (-a).exp()) / 2,
    "exp": torch.exp,
    "floor": torch.floor,
    "hypot": lambda a, b: (a * a + b * b).sqrt(),
    "log": torch.log,
    "log10": lambda a: a.log() / math.log(10),
    "log2": lambda a: a.log() / math.log(2),
    "max": lambda a, b: torch.where(a > b, a, b),
    "min": lambda a, b: torch.where(a < b, a, b),
    "pow": lambda a, b: a**b,
    "relu": lambda a: a.clamp(min=0),
    "sigmoid": lambda a: 1 / (1 + (-a).exp()),
    "sign": torch.sign,
    "sin": torch.sin,
    "sinh": lambda a: (a.exp() - (-a).exp()) / 2,
    "softplus": lambda a: a.exp().log1p(),
    "sqrt": lambda a: a**0.5,
    "tan": lambda a: a.sin() / a.cos(),
    "tanh": torch.tanh,
}

# text, fragment of the message, column (None: no position)
INVALID: list[tuple[str, str, int | None]] = [
    ("__import__('os')", "function '__import__' is not allowed at column 1 (allowed: abs,", 1),
    ("open('f')", "function 'open' is not allowed", 1),
    ("x.real", "'.' (attribute access) is not allowed at column 2", 2),
    ("sin.__globals__", "'.' (attribute access) is not allowed at column 4", 4),
    ("x[0]", "'[' (indexing)", 2),
    ("lambda: 1", "'lambda'", 1),
    ("[x for x in y]", "'for' (comprehension)", 4),
    ("x if y else 1", "'if' (conditional expression)", 3),
    ("x < y", "'<'", 3),
    ("x and y", "'and'", 3),
    ("not x", "'not'", 1),
    ("x // y", "'//'", 3),
    ("x^2 // y", "'//'", 5),  # column counts '^' as one character
    ("(x := 1)", "':=' (assignment)", 4),
    ("x, y", "',' (tuple)", 2),
    ("[x]", "'[' (list)", 1),
    ("f'{x}'", "f-string", 1),
    ("z + 1", "unknown name 'z' at column 1 (allowed: x, y, pi, e)", 1),
    ("x + z", "unknown name 'z' at column 5", 5),
    ("sin", "sin is a function", 1),
    ("x(1)", "function 'x' is not allowed", 1),
    ("(x)(1)", "function 'x' is not allowed", 2),
    ("sin(x, y)", "function 'sin' takes 1 argument, got 2", 1),
    ("max(x)", "function 'max' takes 2 arguments, got 1", 1),
    ("sin(x=1)", "keyword argument 'x='", 5),
    ("sin(**x)", "keyword argument '**'", 5),
    ("sin(*x)", "'*' (argument unpacking)", 5),
    ("'a'", "string 'a'", 1),
    ("1j", "missing operator between '1' and 'j'", 2),
    ("2x", "missing operator between '2' and 'x'", 2),
    ("1if x else 2", "missing operator between '1' and 'if'", 2),  # Python only warns
    ("0x1F", "missing operator", 2),
    ("True", "boolean True", 1),
    ("None", "constant None", 1),
    ("1e400", "number 1e400 is too large", 1),
    ("2*10000000000000", "number 10000000000000 is too large", 3),
    ("", "formula is empty", None),
    ("   ", "formula is empty", None),
    ("x +", "formula ends too early at column 4", 4),
    ("2 x", "syntax error near 'x' at column 3", 3),
    ("(x", "'(' was never closed", 1),
    ("π * x", "character 'π' (U+03C0)", 1),
    ("x # note", "'#' (comment)", 3),
    ("(" * 200 + "x" + ")" * 200, f"brackets nested deeper than {MAX_DEPTH}", MAX_DEPTH + 1),
    ("-" * MAX_DEPTH + "x", f"nested deeper than {MAX_DEPTH} levels", MAX_DEPTH + 1),
    ("+".join(["-" * 19 + "x"] * 21), f"more than {MAX_NODES} parts", 400),
    ("a" * 600, f"too long at column {MAX_LENGTH + 1} (600 characters, limit {MAX_LENGTH})", 501),
]


def value_and_grad(f: Callable[[Tensor], Tensor], p: Tensor) -> tuple[Tensor, Tensor]:
    """f(p) and d(sum f)/dp; a zero gradient where f does not depend on p."""
    p = p.detach().clone().requires_grad_(True)
    out = f(p)
    if not out.requires_grad:
        return out.detach(), torch.zeros_like(p)
    (grad,) = torch.autograd.grad(out.sum(), p)
    return out.detach(), grad


def points(domain: tuple[float, float], seed: int, shape: tuple[int, ...] = (5, 7)) -> Tensor:
    """Random float64 points of shape (*shape, 2) inside domain."""
    gen = torch.Generator().manual_seed(seed)
    low, high = domain
    return low + (high - low) * torch.rand(*shape, 2, generator=gen, dtype=torch.float64)


def assert_matches(text: str, ref: Ref, p: Tensor) -> None:
    """parse(text) agrees with ref in values and gradients at p (NaN == NaN, inf == inf)."""
    got, got_grad = value_and_grad(parse_expression(text).fn, p)
    want, want_grad = value_and_grad(lambda q: ref(q[..., 0], q[..., 1]), p)
    assert got.shape == p.shape[:-1]
    torch.testing.assert_close(got, want, equal_nan=True)
    torch.testing.assert_close(got_grad, want_grad, equal_nan=True)


@pytest.mark.parametrize(("text", "ref", "domain"), VALID, ids=[case[0] for case in VALID])
def test_valid_formula_matches_oracle(text: str, ref: Ref, domain: tuple[float, float]) -> None:
    assert_matches(text, ref, points(domain, seed=len(text)))


def test_function_oracles_cover_registry() -> None:
    assert set(FUNCTIONS) == set(describe_functions())
    assert {"sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid"} <= set(FUNCTIONS)
    assert {"min", "max", "atan2", "pow", "hypot"} <= set(FUNCTIONS)


@pytest.mark.parametrize("name", describe_functions())
def test_function_matches_oracle(name: str) -> None:
    ref = FUNCTIONS[name]
    binary = name in {"atan2", "hypot", "max", "min", "pow"}
    text = f"{name}(x, y)" if binary else f"{name}(x)"
    oracle: Ref = (lambda x, y: ref(x, y)) if binary else (lambda x, y: ref(x))
    assert_matches(text, oracle, points(POSITIVE, seed=1))


@pytest.mark.parametrize(("text", "fragment", "column"), INVALID, ids=[c[0][:20] for c in INVALID])
def test_invalid_formula_is_rejected(text: str, fragment: str, column: int | None) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert fragment in str(info.value)
    assert info.value.column == column
    assert_points_at_token(text, info.value)


def assert_points_at_token(text: str, err: ExpressionError) -> None:
    """The error's column is in range, quoted in the message, and starts its token."""
    assert isinstance(err, ValueError)
    if err.column is None:
        return
    assert 1 <= err.column <= len(text) + 1
    assert f"column {err.column}" in str(err)
    if err.token:
        assert text[err.column - 1 :].startswith(err.token)


@pytest.mark.parametrize(
    "text",
    ["-" * (MAX_DEPTH - 1) + "x", "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, "x" + " " * 499],
    ids=["deepest unary chain", "deepest brackets", "longest text"],
)
def test_limits_are_inclusive(text: str) -> None:
    assert parse_expression(text).fn(torch.ones(3, 2)).shape == (3,)


@pytest.mark.parametrize("text", ["3", "pi * 2", "-e"])
def test_constant_formula_broadcasts_with_zero_gradient(text: str) -> None:
    p = torch.zeros(4, 2, requires_grad=True)
    out = parse_expression(text).fn(p)
    assert out.shape == (4,)
    out.sum().backward()
    assert p.grad is not None
    assert torch.equal(p.grad, torch.zeros(4, 2))


def test_expression_keeps_text_and_accepts_float32_and_ints() -> None:
    expression = parse_expression("x^2 + y")
    assert expression.text == "x^2 + y"
    p = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert expression.fn(p).dtype == torch.float32
    assert torch.equal(expression.fn(p), torch.tensor([3.0, 13.0]))
    assert torch.equal(expression.fn(torch.tensor([[1, 2]])), torch.tensor([3.0]))


def test_source_never_runs_code() -> None:
    source = Path(expressions.__file__).read_text()
    for banned in ("eval(", "exec(", "sympy", "__builtins__"):
        assert banned not in source


# --- property tests -------------------------------------------------------

Tree = tuple  # ("num", v) | ("name", n) | ("neg", t) | ("op", s, a, b) | ("call", f, *args)
CONSTANTS = {"pi": math.pi, "e": math.e}
OPS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "+": torch.add,
    "-": torch.sub,
    "*": torch.mul,
    "/": torch.div,
    "^": torch.pow,
}
CALLS: dict[str, Callable[..., Tensor]] = {
    "sin": torch.sin,
    "exp": torch.exp,
    "tanh": torch.tanh,
    "sqrt": torch.sqrt,
    "log": torch.log,
    "abs": torch.abs,
    "min": torch.minimum,
    "atan2": torch.atan2,
}
UNARY_CALLS = ["sin", "exp", "tanh", "sqrt", "log", "abs"]
BINARY_CALLS = ["min", "atan2"]
PY_OPS: dict[str, ast.operator] = {
    "+": ast.Add(),
    "-": ast.Sub(),
    "*": ast.Mult(),
    "/": ast.Div(),
    "^": ast.Pow(),
}

leaves = st.one_of(
    st.sampled_from(["x", "y", *CONSTANTS]).map(lambda n: ("name", n)),
    st.integers(0, 10**6).map(lambda v: ("num", v)),
    st.floats(0, 1e3, allow_nan=False).map(lambda v: ("num", v)),
)
trees = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.tuples(st.just("neg"), sub),
        st.tuples(st.just("op"), st.sampled_from(sorted(OPS)), sub, sub),
        st.tuples(st.just("call"), st.sampled_from(UNARY_CALLS), sub),
        st.tuples(st.just("call"), st.sampled_from(BINARY_CALLS), sub, sub),
    ),
    max_leaves=12,
)


def render(tree: Tree) -> str:
    """Fully bracketed text using '^' for power."""
    match tree:
        case ("num", value):
            return repr(value)
        case ("name", name):
            return str(name)
        case ("neg", a):
            return f"(-{render(a)})"
        case ("op", symbol, a, b):
            return f"({render(a)} {symbol} {render(b)})"
        case ("call", name, *args):
            return f"{name}({', '.join(render(a) for a in args)})"
    raise AssertionError(tree)


def to_python_ast(tree: Tree) -> ast.expr:
    """The same tree as a Python AST, so ast.unparse picks minimal brackets and '**'."""
    match tree:
        case ("num", value):
            return ast.Constant(value)
        case ("name", name):
            return ast.Name(name)
        case ("neg", a):
            return ast.UnaryOp(ast.USub(), to_python_ast(a))
        case ("op", symbol, a, b):
            return ast.BinOp(to_python_ast(a), PY_OPS[symbol], to_python_ast(b))
        case ("call", name, *args):
            return ast.Call(ast.Name(name), [to_python_ast(a) for a in args], [])
    raise AssertionError(tree)


def reference(tree: Tree, x: Tensor, y: Tensor) -> Tensor:
    """Evaluate the tree directly with torch ops."""
    match tree:
        case ("num", value):
            return torch.full_like(x, float(value))
        case ("name", "x"):
            return x
        case ("name", "y"):
            return y
        case ("name", name):
            return torch.full_like(x, CONSTANTS[name])
        case ("neg", a):
            return -reference(a, x, y)
        case ("op", symbol, a, b):
            return OPS[symbol](reference(a, x, y), reference(b, x, y))
        case ("call", name, *args):
            return CALLS[name](*(reference(a, x, y) for a in args))
    raise AssertionError(tree)


def depth(tree: Tree) -> int:
    children = [t for t in tree[1:] if isinstance(t, tuple)]
    return 1 + max((depth(t) for t in children), default=0)


@settings(max_examples=200, deadline=None)
@given(tree=trees, minimal_brackets=st.booleans(), caret=st.booleans(), seed=st.integers(0, 99))
def test_random_trees_match_reference(
    tree: Tree, minimal_brackets: bool, caret: bool, seed: int
) -> None:
    text = ast.unparse(to_python_ast(tree)) if minimal_brackets else render(tree)
    text = text.replace("**", "^") if caret else text.replace("^", "**")
    assume(len(text) <= MAX_LENGTH and depth(tree) <= MAX_DEPTH)
    assert_matches(text, lambda x, y: reference(tree, x, y), points(WIDE, seed, shape=(16,)))


TOKENS = [
    *describe_functions(),
    "x",
    "y",
    "pi",
    "e",
    "1",
    "2.5",
    "1e3",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "**",
    "^",
    " ",
    ".",
    "'",
    "[",
    "]",
    "=",
    "lambda",
    "_",
    "import",
    ":",
]
texts = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"[ xyeip0-9.+\-*/^(),a-z_]{0,40}", fullmatch=True),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        expression = parse_expression(text)
    except ExpressionError as err:
        assert_points_at_token(text, err)
        return
    p = torch.rand(3, 2, requires_grad=True)
    out = expression.fn(p)
    assert out.shape == (3,)
    out.sum().backward()
