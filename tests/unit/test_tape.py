"""backend.surfaces.tape: a replay of autograd's calls is autograd's answer, bit for bit, or refused.

The oracle is `torch.autograd.grad` at every point, compared with `torch.equal` (NaN where
autograd gives NaN). Points cover each surface's domain, its notable points and the origin
(the kinks of |x|, √, max). Refusals are shown with losses built to defeat a replay."""

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from backend.surfaces import engine
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.expressions import describe_functions, parse_expression
from backend.surfaces.tape import Tape, Tapes, as_points, record

SHAPES = {"one (1, 2) row": (1, 2), "five rows": (5, 2), "one (2,) point": (2,)}
DTYPES = [torch.float64, torch.float32]


def autograd(loss: Callable[[Tensor], Tensor], w: Tensor, seed: Tensor) -> tuple[Tensor, Tensor]:
    leaf = w.detach().clone().requires_grad_(True)
    value = loss(as_points(leaf))
    (grad,) = torch.autograd.grad(value, leaf, seed)
    return value.detach(), grad


def same(a: Tensor, b: Tensor) -> bool:
    """Equal to the bit, NaN where NaN (the dtype and shape too)."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.nan_to_num(7.0), b.nan_to_num(7.0)) \
        and torch.equal(a.isnan(), b.isnan())


def points_of(domain: tuple[tuple[float, float], tuple[float, float]], shape: tuple[int, ...],
              dtype: torch.dtype, count: int, notable: list[tuple[float, float]]) -> list[Tensor]:
    generator = torch.Generator().manual_seed(0)
    (x_lo, x_hi), (y_lo, y_hi) = domain
    lo = torch.tensor([x_lo, y_lo], dtype=torch.float64)
    span = torch.tensor([x_hi - x_lo, y_hi - y_lo], dtype=torch.float64)
    rows = shape[0] if len(shape) == 2 else 1
    out = [torch.zeros(shape, dtype=dtype)]
    out += [torch.tensor(p, dtype=dtype).expand(rows, 2).reshape(shape).clone() for p in notable]
    uniform = (torch.rand(rows, 2, generator=generator, dtype=torch.float64) for _ in range(count))
    out += [(lo + span * u).to(dtype).reshape(shape) for u in uniform]
    return out


def assert_replays(loss: Callable[[Tensor], Tensor], points: list[Tensor]) -> None:
    seed = torch.ones(as_points(points[0]).shape[0], dtype=points[0].dtype)
    value, grad, tape = record(loss, points[0].clone().requires_grad_(True), seed)
    assert tape is not None
    expected = autograd(loss, points[0], seed)
    assert same(value, expected[0]) and same(grad, expected[1])
    for w in points:
        want = autograd(loss, w, seed)
        got = tape(w.clone(), seed)
        assert same(got[0], want[0]) and same(got[1], want[1]), (w, got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("surface", SURFACES)
def test_every_surface_replays_autograd_exactly(surface: str, shape: tuple[int, ...],
                                                dtype: torch.dtype) -> None:
    s = SURFACES[surface]
    notable = [(p.x, p.y) for p in (*s.minima, *s.saddles)] + [s.start]
    assert_replays(s.fn, points_of(s.domain, shape, dtype, 40, notable))


FORMULAS = [f"{name}(x) + x * {name}(y)" for name in describe_functions() if name not in
            {"atan2", "hypot", "max", "min", "pow"}]
FORMULAS += ["atan2(y, x)", "hypot(x, y) * y", "max(x, y) + min(x^2, y)", "pow(abs(x) + 1, y)",
             "3", "x", "x + y", "sin(x)^2 / (1 + y^2)", "-x * exp(-(x^2 + y^2))"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_formula_function_replays_autograd_exactly(formula: str) -> None:
    """Kinks and ties included: 0 for |x|, sign, relu, floor; x = y for max and min."""
    loss = parse_expression(formula).fn
    points = points_of(((-0.9, 0.9), (-0.9, 0.9)), (1, 2), torch.float64, 25, [(0.5, 0.5), (-0.3, 0.0)])
    assert_replays(loss, points)


def written_through_a_view(p: Tensor) -> Tensor:
    x, y = p.unbind(-1)
    t = x * 1.0
    v = t.view(-1)  # read after the write below, whose own result nothing reads
    t.mul_(3.0)
    return v * y


def writes_a_constant(p: Tensor) -> Tensor:
    x, y = p.unbind(-1)
    c = torch.full_like(x, 2.0)  # shapes alone make it, but it is written: made again at each replay
    c.mul_(x)
    return c * y


@pytest.mark.parametrize("loss", [written_through_a_view, writes_a_constant,
                                  parse_expression("max(x, y) * min(x, y^2)").fn],
                         ids=["a view read after its base is written", "a full_like then written",
                              "max and min, whose backward writes with masked_fill_"])
def test_calls_that_write_are_replayed_in_order(loss: Callable[[Tensor], Tensor]) -> None:
    """Dropping unread calls must keep a write (a view taken before it sees it), and a call that
    shapes alone determine is kept as a constant only when nothing writes into it."""
    assert_replays(loss, points_of(((-2.0, 2.0), (-2.0, 2.0)), (1, 2), torch.float64, 10, [(0.5, 0.5)]))


def test_a_mini_batch_loss_replays_autograd_exactly_for_other_samples_of_its_size() -> None:
    """The batch's indices are an input: another batch of the same size, another gradient."""
    data = SURFACES["linear_regression"].samples
    assert data is not None
    generator = torch.Generator().manual_seed(3)
    seed = torch.ones(1, dtype=torch.float64)
    w = torch.tensor([[-1.0, 2.5]], dtype=torch.float64, requires_grad=True)
    tape = record(data.loss, w, seed, torch.randperm(200, generator=generator)[:16])[2]
    assert tape is not None
    for w in points_of(((-3.0, 3.0), (-3.0, 3.0)), (1, 2), torch.float64, 20, []):
        index = torch.randperm(200, generator=generator)[:16]
        leaf = w.clone().requires_grad_(True)
        value = data.loss(leaf, index)
        want = (value.detach(), *torch.autograd.grad(value, leaf, seed))
        got = tape(w, seed, index)
        assert same(got[0], want[0]) and same(got[1], want[1])


def read_back(p: Tensor) -> Tensor:
    x, y = p.unbind(-1)
    return x**2 if float(x.detach().sum()) > 0 else y**2  # a branch on a value


def compares(p: Tensor) -> Tensor:
    x, y = p.unbind(-1)
    return x**2 if torch.equal(x.detach(), y.detach()) else y**2  # a value read as a bool


def answers_a_bool(p: Tensor) -> Tensor:
    x, y = p.unbind(-1)
    return x**2 if torch.is_same_size(x, y) else y**2  # a call whose answer is no tensor


def test_an_input_read_through_data_is_a_call_so_it_replays() -> None:
    """`.data` shares the point's memory, yet torch dispatches it (`detach`): the tape sees it,
    so no tensor of the point's can reach a call unseen and stay stale."""
    def reads_data(p: Tensor) -> Tensor:
        return (p.data * p).sum(-1)

    assert_replays(reads_data, points_of(((-2.0, 2.0), (-2.0, 2.0)), (1, 2), torch.float64, 10, []))


def noisy(p: Tensor) -> Tensor:
    return (p**2).sum(-1) + torch.rand(p.shape[:-1], dtype=p.dtype)


COUNTER = torch.zeros(1, dtype=torch.float64)


def writes_outside(p: Tensor) -> Tensor:
    COUNTER.add_(1.0)
    return (p**2).sum(-1) * COUNTER


def masked(p: Tensor) -> Tensor:
    return p[p > 0].sum().reshape(1) + (p**2).sum(-1)  # a result sized by the values


@pytest.mark.parametrize("loss", [read_back, compares, answers_a_bool, noisy, writes_outside, masked],
                         ids=lambda f: f.__name__)
def test_a_loss_a_replay_could_get_wrong_is_refused(loss: Callable[[Tensor], Tensor]) -> None:
    w = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    seed = torch.ones(1, dtype=torch.float64)
    value, grad, tape = record(loss, w, seed)
    assert tape is None
    if loss not in (noisy, writes_outside):  # (those two answer otherwise at each call)
        want = autograd(loss, w, seed)
        assert same(value, want[0]) and same(grad, want[1])


def test_a_gradient_that_is_the_seed_itself_is_refused() -> None:
    """Σ's gradient is the seed expanded: a view of the caller's tensor, which a step may change."""
    w = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    value, grad, tape = record(lambda p: p.sum(-1), w, torch.ones(1, dtype=torch.float64))
    assert tape is None
    assert value.tolist() == [-0.5] and grad.tolist() == [[1.0, 1.0]]


def test_tapes_are_kept_per_loss_shape_and_dtype_the_least_recently_used_dropped() -> None:
    tapes = Tapes(kept=2)
    seed = torch.ones(1, dtype=torch.float64)

    def leaf(dtype: torch.dtype = torch.float64) -> Tensor:
        return torch.tensor([[0.5, -1.0]], dtype=dtype, requires_grad=True)

    quadratic, ravine = SURFACES["quadratic"].fn, SURFACES["ravine"].fn
    _, _, first = tapes.evaluate(quadratic, leaf(), seed, worth_recording=True)
    _, _, again = tapes.evaluate(quadratic, leaf(), seed, worth_recording=True)
    assert first is not None and again is first
    assert tapes.evaluate(ravine, leaf(), seed, worth_recording=False)[2] is None  # not worth it: none made
    tapes.evaluate(ravine, leaf(), seed, worth_recording=True)
    tapes.evaluate(quadratic, leaf(torch.float32), seed.float(), worth_recording=True)  # drops quadratic's
    assert len(tapes.by_key) == 2
    assert tapes.evaluate(quadratic, leaf(), seed, worth_recording=False)[2] is None
    value, grad, _ = tapes.evaluate(read_back, leaf(), seed, worth_recording=True)
    assert tapes.evaluate(read_back, leaf(), seed, worth_recording=True)[2] is None  # refused, not retried
    assert value.tolist() == [0.25] and grad.tolist() == [[1.0, 0.0]]


def test_a_typed_formula_is_one_function_so_its_tape_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slider dragged over a typed surface: every request of the formula replays one tape."""
    from backend.runs.surface import build_problem
    from backend.surfaces.spec import SurfaceRun

    def problem(lr: float) -> engine.Problem:
        return build_problem(SurfaceRun.model_validate({
            "surface": {"expression": "sin(x) * y^2 + 0.1 * x^2", "domain": {"x": [-3, 3], "y": [-3, 3]}},
            "optimizer": {"name": "adam", "lr": lr}, "steps": 40}), torch.device("cpu"))

    first, second = problem(0.1), problem(0.2)
    assert first.loss is second.loss
    engine.run(first)
    kept = engine.TAPES.by_key[(first.loss, (1, 2), torch.float64, torch.device("cpu"))]
    assert kept is not None
    calls = []
    replay = Tape.__call__

    def counted(tape: Tape, w: Tensor, seed: Tensor) -> tuple[Tensor, Tensor]:
        calls.append(tape)
        return replay(tape, w, seed)

    monkeypatch.setattr(Tape, "__call__", counted)
    engine.run(second)
    assert calls == [kept] * 41  # every gradient of the second run, step 0's too


def test_the_engine_replays_from_the_second_step_and_equals_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same 300-step Adam run through the tape and through autograd: every column equal."""
    from backend.optim.optimizers import get_optimizer
    from backend.optim.schedules import get_schedule

    def problem(loss: Callable[[Tensor], Tensor]) -> engine.Problem:
        return engine.Problem(
            loss=loss, starts=torch.tensor([[-1.5, 2.0]], dtype=torch.float64),
            optimizer=get_optimizer("adam"), optimizer_kwargs={"lr": 0.01},
            schedule=get_schedule("constant"), schedule_kwargs={}, steps=300,
            bounds=((-1e9, 1e9), (-1e9, 1e9)))

    rosenbrock = SURFACES["rosenbrock"].fn
    monkeypatch.setattr(engine, "TAPES", Tapes())
    taped = engine.run(problem(rosenbrock))
    assert engine.TAPES.by_key[(rosenbrock, (1, 2), torch.float64, torch.device("cpu"))] is not None
    monkeypatch.setattr(engine, "TAPES", Tapes())
    monkeypatch.setattr(engine, "TAPE_MIN_STEPS", 10**9)
    plain = engine.run(problem(rosenbrock))
    assert not engine.TAPES.by_key
    for column in ("params", "grad", "loss"):
        assert torch.equal(getattr(taped, column), getattr(plain, column)), column
    assert taped.state_since == plain.state_since and taped.state_since
    for name, since in taped.state_since.items():  # rows before `since` hold nothing yet
        assert torch.equal(taped.state[name][since:], plain.state[name][since:]), name


def test_a_recording_notes_only_its_own_threads_calls() -> None:
    """A server computes runs in several threads: one thread's recording must not take in the
    calls of a run beside it (torch keeps the dispatch mode per thread)."""
    import threading

    seed = torch.ones(1, dtype=torch.float64)

    def recorded() -> int:
        w = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
        tape = record(SURFACES["rosenbrock"].fn, w, seed)[2]
        assert tape is not None
        return len(tape.steps)

    quiet = recorded()
    busy = threading.Event()
    done = threading.Event()

    def beside() -> None:
        t = torch.ones(3, dtype=torch.float64)
        while not done.is_set():
            t = torch.sin(t) * 1.0
            busy.set()

    thread = threading.Thread(target=beside)
    thread.start()
    busy.wait()
    try:
        assert [recorded() for _ in range(20)] == [quiet] * 20
    finally:
        done.set()
        thread.join()
