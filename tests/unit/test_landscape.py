"""The loss landscape: filter normalisation, directions, projection, batched grids vs a per-point loop."""

import io
from typing import Any

import pytest
import torch
from torch import nn

from backend.networks import datasets, models
from backend.networks import landscape as L
from backend.networks.landscape import stacked

CPU = torch.device("cpu")


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def moons_data(n: int = 150) -> L.EvalData:
    data = datasets.load("moons", n, 0.2, None, seeded())
    return L.EvalData(data.x, data.y, True)


def mlp(activation: str = "tanh", hidden: tuple[int, ...] = (16, 16), n_in: int = 2, out: int = 2,
        seed: int = 0) -> nn.Sequential:
    shape = datasets.Shape(100, n_in, out if out > 1 else None)
    return models.build("mlp", list(hidden), activation, shape, seeded(seed))


def directions(model: nn.Module, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return L.random_directions(model, seeded(seed))


# --- filter normalisation ------------------------------------------------------------------


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).flatten(1))


def test_filter_normalisation_matches_each_filter_norm_and_zeroes_bias_and_bn() -> None:
    model = ConvNet()
    weights = dict(model.named_parameters())
    raw = {n: torch.randn(p.shape, generator=seeded()) * 7 for n, p in weights.items()}
    d = L.filter_normalize(raw, {n: p.detach() for n, p in weights.items()})
    for name in ("conv.weight", "fc.weight"):
        filter_norms = weights[name].detach().flatten(1).norm(dim=1)
        torch.testing.assert_close(d[name].flatten(1).norm(dim=1), filter_norms)
        # only rescaled: each filter keeps its direction
        cos = torch.nn.functional.cosine_similarity(d[name].flatten(1), raw[name].flatten(1), dim=1)
        torch.testing.assert_close(cos, torch.ones_like(cos))
    for name in ("conv.bias", "bn.weight", "bn.bias", "fc.bias"):
        assert torch.count_nonzero(d[name]) == 0


def test_random_directions_are_seeded_filter_normalised_vectors() -> None:
    model = mlp()
    u, v = directions(model)
    u2, _ = directions(model)
    assert torch.equal(u, u2) and not torch.equal(u, v)
    layout = L.Layout.of(model)
    parts = layout.unflatten(u)
    weights = dict(model.named_parameters())
    torch.testing.assert_close(parts["0.weight"].norm(dim=1), weights["0.weight"].detach().norm(dim=1))
    assert torch.count_nonzero(parts["0.bias"]) == 0
    plain, _ = L.random_directions(model, seeded(1), filter_normalize=False)
    torch.testing.assert_close(plain.norm(), L.weights_of(model).norm())


# --- batched grids against the per-point loop ----------------------------------------------


def per_point_grid(model: nn.Module, data: L.EvalData, origin: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                   a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The oracle, written here: for each grid point, the flat w* + a·u + b·v cut into the
    model's parameters in `named_parameters()` order (the documented layout) and the model
    called with them (`functional_call`), in eval mode; the mean loss (cross-entropy, or MSE
    of the single output) and the accuracy, as `loss[iy, ix]`."""
    named = [(name, p.shape, p.numel()) for name, p in model.named_parameters()]
    loss = torch.empty(len(b), len(a))
    accuracy = torch.empty(len(b), len(a)) if data.classification else None
    model.eval()
    with torch.no_grad():
        for iy, bv in enumerate(b.tolist()):
            for ix, av in enumerate(a.tolist()):
                flat, params, offset = origin + av * u + bv * v, {}, 0
                for name, shape, size in named:
                    params[name] = flat[offset:offset + size].view(shape)
                    offset += size
                assert offset == len(flat)
                out = torch.func.functional_call(model, params, (data.x,))
                if data.classification:
                    loss[iy, ix] = nn.functional.cross_entropy(out, data.y)
                    assert accuracy is not None
                    accuracy[iy, ix] = (out.argmax(-1) == data.y).double().mean()
                else:
                    loss[iy, ix] = ((out[:, 0] - data.y) ** 2).mean()
    return loss, accuracy


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "gelu"])
@pytest.mark.parametrize("budget", [stacked.ACTIVATION_BUDGET, 1000])  # 1000: samples in blocks of 64
def test_batched_grid_equals_per_point_loop_on_a_non_square_grid(
    activation: str, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stacked, "ACTIVATION_BUDGET", budget)
    model, data = mlp(activation), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    a, b = L.axis(1.0, 7), L.axis(0.6, 4)  # nx = 7, ny = 4
    loss, acc = L.loss_grid(model, data, w, u, v, a, b, chunk=5)  # chunks straddle rows
    ref_loss, ref_acc = per_point_grid(model, data, w, u, v, a, b)
    assert loss.shape == (4, 7)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    assert acc is not None and ref_acc is not None
    torch.testing.assert_close(acc, ref_acc)
    torch.testing.assert_close(L.weights_of(model), w)  # the grid left the model's weights as they were


def test_the_reference_loop_of_the_bench_equals_the_oracle() -> None:
    model, data = mlp("relu"), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    a, b = L.axis(1.0, 5), L.axis(0.5, 3)
    loss, acc = L.loss_grid_loop(model, data, w, u, v, a, b)
    ref_loss, ref_acc = per_point_grid(model, data, w, u, v, a, b)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-7)
    assert acc is not None and ref_acc is not None
    torch.testing.assert_close(acc, ref_acc)
    torch.testing.assert_close(L.weights_of(model), w)  # the loop restored the weights


def test_grid_is_indexed_z_iy_ix() -> None:
    model, data = mlp(), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    a, b = L.axis(1.0, 5), L.axis(0.5, 3)
    loss, _ = L.loss_grid(model, data, w, u, v, a, b)
    ix, iy = 4, 0
    L.load_weights(model, w + float(a[ix]) * u + float(b[iy]) * v)
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(data.x), data.y)
    torch.testing.assert_close(loss[iy, ix], expected, rtol=1e-5, atol=1e-6)


def test_regression_grid_equals_loop() -> None:
    raw = datasets.load("linear_regression", 120, None, None, seeded())
    data = L.EvalData(raw.x, raw.y, False)
    model = mlp("relu", (8,), out=1)
    w = L.weights_of(model)
    u, v = directions(model)
    a, b = L.axis(2.0, 5), L.axis(1.0, 3)
    loss, acc = L.loss_grid(model, data, w, u, v, a, b)
    ref, _ = per_point_grid(model, data, w, u, v, a, b)
    assert acc is None
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hidden", [[4, 4], [3, 5, 6]])  # 8 → 4 → 2 (→ 1) pixels
@pytest.mark.parametrize("chunk", [None, 1, 5])  # None: the device's default; 5: grouped convolutions
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_cnn_stacked_grid_equals_the_loop(hidden: list[int], chunk: int | None, activation: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stacked, "ACTIVATION_BUDGET", 5000)  # samples in several blocks
    raw = datasets.load("digits", 60, None, None, seeded())
    data = L.EvalData(raw.x, raw.y, True)
    model = models.build("cnn", hidden, activation, raw.shape, seeded())
    evaluator = L.Evaluator(model, data, chunk)
    assert evaluator.mlp is None and evaluator.conv is not None
    assert evaluator.conv.block(evaluator.chunk) < len(data)
    w = L.weights_of(model)
    u, v = directions(model)
    a, b = L.axis(0.5, 3), L.axis(0.5, 4)
    loss, acc = L.loss_grid(model, data, w, u, v, a, b, chunk=chunk)
    ref_loss, ref_acc = per_point_grid(model, data, w, u, v, a, b)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(acc, ref_acc)


@pytest.mark.parametrize("size", [(8, 8), (5, 7), (2, 3)])
def test_strided_max_pool_equals_torch_max_pool_nan_included(size: tuple[int, int]) -> None:
    h = torch.randn(3, 4, *size, generator=seeded())
    h[0, 1, 1, 0] = float("nan")
    torch.testing.assert_close(stacked.max_pool_2x2(h), nn.functional.max_pool2d(h, 2), equal_nan=True)


def test_a_model_without_a_batched_forward_is_refused() -> None:
    with pytest.raises(ValueError, match="no batched forward"):
        L.Evaluator(ConvNet(), L.EvalData(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), True))


def test_centre_of_the_grid_is_the_loss_of_the_final_weights() -> None:
    model, data = mlp(), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    loss, _ = L.loss_grid(model, data, w, u, v, L.axis(1.0, 9), L.axis(1.0, 5))
    assert float(L.axis(1.0, 9)[4]) == 0.0
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(data.x), data.y)
    torch.testing.assert_close(loss[2, 4], expected, rtol=1e-6, atol=1e-7)


def test_points_equal_per_point_forward() -> None:
    model, data = mlp(), moons_data()
    points = L.weights_of(model) + 0.1 * torch.randn(6, len(L.weights_of(model)), generator=seeded())
    loss, _ = L.Evaluator(model, data, chunk=4).points(points)
    for i, p in enumerate(points):
        L.load_weights(model, p)
        with torch.no_grad():
            torch.testing.assert_close(loss[i], nn.functional.cross_entropy(model(data.x), data.y),
                                       rtol=1e-5, atol=1e-6)


def test_non_finite_cells_stay_nan() -> None:
    model, data = mlp("relu"), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    loss, _ = L.loss_grid(model, data, w, u * 1e30, v, L.axis(1.0, 3), L.axis(1.0, 3))  # overflows
    assert not torch.isfinite(loss[:, 0]).any() and torch.isfinite(loss[:, 1]).all()


def test_cancel_between_chunks() -> None:
    model, data = mlp(), moons_data()
    w = L.weights_of(model)
    u, v = directions(model)
    with pytest.raises(L.Cancelled):
        L.loss_grid(model, data, w, u, v, L.axis(1.0, 9), L.axis(1.0, 9), chunk=4, cancelled=lambda: True)


def test_interpolation_endpoints() -> None:
    model, data = mlp(), moons_data()
    w1 = L.weights_of(model)
    w0 = w1 + 0.3 * torch.randn(len(w1), generator=seeded())
    loss, acc = L.interpolate(model, data, w0, w1, torch.tensor([0.0, 0.5, 1.0]))
    for alpha, value in ((0.0, loss[0]), (1.0, loss[2])):
        L.load_weights(model, (1 - alpha) * w0 + alpha * w1)
        with torch.no_grad():
            torch.testing.assert_close(value, nn.functional.cross_entropy(model(data.x), data.y),
                                       rtol=1e-5, atol=1e-6)
    assert acc is not None and acc.shape == (3,)


# --- PCA and projection --------------------------------------------------------------------


def trajectory(m: int = 12, n: int = 40) -> torch.Tensor:
    """A curved path in ℝⁿ with a little noise, ending at its last row."""
    t = torch.linspace(0, 1, m).unsqueeze(1)
    g = seeded(5)
    p, q = torch.randn(n, generator=g), torch.randn(n, generator=g)
    return t * p + t**2 * q + 0.01 * torch.randn(m, n, generator=g)


def test_pca_last_checkpoint_projects_to_origin_with_zero_residual() -> None:
    path = trajectory()
    u, v, explained = L.pca_directions(path, path[-1])
    coords, residual = L.project(path, path[-1], u, v)
    assert coords[-1].tolist() == [0.0, 0.0] and float(residual[-1]) == 0.0
    torch.testing.assert_close(torch.stack([u.norm(), v.norm()]), torch.ones(2))
    assert abs(float(u @ v)) < 1e-5
    assert 0.9 < float(explained.sum()) <= 1.0 + 1e-9 and explained[0] >= explained[1]
    assert float(residual[:-1].max()) < 0.1  # a nearly planar path is captured by the plane
    assert float(coords[0, 0]) >= 0 and float(coords[0, 1]) >= 0  # oriented: the start at a, b ≥ 0


def test_pca_of_a_straight_path_completes_the_second_direction() -> None:
    line = torch.linspace(0, 1, 6).unsqueeze(1) * torch.randn(30, generator=seeded(7))
    u, v, explained = L.pca_directions(line, line[-1])
    assert explained[1] == 0 and abs(float(u @ v)) < 1e-5 and abs(float(v.norm()) - 1) < 1e-5
    _, residual = L.project(line, line[-1], u, v)
    assert float(residual.max()) < 1e-5


def test_least_squares_projection_recovers_known_coefficients() -> None:
    g = seeded(2)
    n = 50
    origin = torch.randn(n, generator=g, dtype=torch.float64)
    u = torch.randn(n, generator=g, dtype=torch.float64)
    v = 0.8 * u + 0.6 * torch.randn(n, generator=g, dtype=torch.float64)  # far from orthogonal
    known = torch.tensor([[0.0, 0.0], [1.0, -2.0], [-0.5, 3.0], [2.5, 0.25]], dtype=torch.float64)
    points = origin + known @ torch.stack([u, v])
    coords, residual = L.project(points, origin, u, v)
    torch.testing.assert_close(coords, known)
    assert float(residual.max()) < 1e-10
    off_plane = origin + u + torch.randn(n, generator=g, dtype=torch.float64)
    _, r = L.project(off_plane.unsqueeze(0), origin, u, v)
    assert 0.3 < float(r[0]) < 1.0


def test_compare_plane_puts_the_shared_start_at_the_origin() -> None:
    start = torch.randn(20, generator=seeded())
    runs = [start + torch.linspace(0, 1, 5).unsqueeze(1) * torch.randn(20, generator=seeded(s))
            for s in (1, 2, 3)]
    for run in runs:
        run[0] = start
    plane = L.compare_plane(runs)
    assert len(plane.paths) == 3 and all(p[0].tolist() == [0.0, 0.0] for p in plane.paths)
    with pytest.raises(ValueError, match="same weights"):
        L.compare_plane([runs[0], runs[1] + 1])


# --- Hessian -------------------------------------------------------------------------------


def test_hessian_directions_are_eigenvectors() -> None:
    model, data = mlp("tanh", (4,), seed=3), moons_data(80)
    loss_fn = models.loss_function(True)
    layout = L.Layout.of(model)
    w = L.weights_of(model)

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        return loss_fn(torch.func.functional_call(model, layout.unflatten(flat), (data.x,)), data.y)

    dense = torch.autograd.functional.hessian(loss_of, w).double()
    u, v, values = L.hessian_directions(model, loss_fn, data, iters=len(w))
    for vector, value in zip((u, v), values.tolist(), strict=True):
        vector = vector.double()
        assert float((dense @ vector - value * vector).norm()) <= 1e-3 * abs(value)
    exact = torch.linalg.eigvalsh(dense)
    top = exact[exact.abs().argsort(descending=True)[:2]]
    torch.testing.assert_close(values, top, rtol=1e-3, atol=1e-6)


def test_hessian_lanczos_with_few_iterations_still_finds_the_top_pair() -> None:
    model, data = mlp("tanh", (8,), seed=4), moons_data(80)
    loss_fn = models.loss_function(True)
    layout = L.Layout.of(model)

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        return loss_fn(torch.func.functional_call(model, layout.unflatten(flat), (data.x,)), data.y)

    dense = torch.autograd.functional.hessian(loss_of, L.weights_of(model)).double()
    u, _, values = L.hessian_directions(model, loss_fn, data, iters=20)
    assert len(L.weights_of(model)) > 20
    assert float((dense @ u.double() - values[0] * u.double()).norm()) <= 1e-2 * abs(float(values[0]))


# --- the survey of a run -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pca", "random", "hessian"])
def test_survey_streams_a_preview_then_the_grid_and_exports(kind: str) -> None:
    model, data = mlp(), moons_data()
    final = L.weights_of(model)
    path = final + torch.linspace(1, 0, 6).unsqueeze(1) * torch.randn(6, len(final), generator=seeded()) * 0.1
    path[-1] = final
    frames: list[dict[str, Any]] = []
    survey = L.survey(model, data, path, range(6), final, kind, shape=(9, 13), span=1.0,
                      generator=seeded(), emit=frames.append, frame_seconds=0.0, preview=5)
    report = survey.report
    assert frames[0]["stage"] == "preview" and len(frames[0]["loss"]) == 5
    assert frames[-1]["stage"] == "done" and frames[-1]["loss"] == report["loss"]
    assert len(report["a"]) == 13 and len(report["b"]) == 9
    assert len(report["loss"]) == 9 and len(report["loss"][0]) == 13
    assert report["trajectory"][-1] == [0.0, 0.0] and report["residual"][-1] == 0.0
    assert report["loss"][4][6] == pytest.approx(report["final_loss"], rel=1e-6)
    assert report["true_loss"][-1] == pytest.approx(report["final_loss"], rel=1e-6)
    assert report["slice_loss"][-1] == pytest.approx(report["final_loss"], rel=1e-6)
    assert report["interpolation"]["loss"][30] == pytest.approx(report["final_loss"], rel=1e-5)
    assert report["interpolation"]["loss"][10] == pytest.approx(report["true_loss"][0], rel=1e-5)
    assert report["eval_samples"] == len(data)
    assert (report["explained_variance"] is not None) == (kind == "pca")
    assert (report["eigenvalues"] is not None) == (kind == "hessian")
    if kind == "pca":  # pca frames the whole path
        coords = torch.tensor(report["trajectory"]).abs().max(0).values
        assert coords[0] <= max(report["a"]) and coords[1] <= max(report["b"])

    buffer = io.BytesIO()
    torch.save(survey.export, buffer)
    buffer.seek(0)
    export = torch.load(buffer, weights_only=True)
    names = [n for n, _ in model.named_parameters()]
    assert list(export["weights"]) == names and all(list(d) == names for d in export["directions"])
    ix, iy = 2, 7  # rebuild one grid point from the file alone, as a notebook would
    point = {n: export["weights"][n] + export["a"][ix] * export["directions"][0][n]
             + export["b"][iy] * export["directions"][1][n] for n in names}
    with torch.no_grad():
        value = nn.functional.cross_entropy(torch.func.functional_call(model, point, (data.x,)), data.y)
    torch.testing.assert_close(export["loss"][iy, ix], value, rtol=1e-4, atol=1e-5)
