"""Loss-landscape grids and the training loop's overhead, measured in one process.

    python -m bench.landscape            # full tables (about a minute on 2 cores)
    python -m bench.landscape --quick    # 21 × 21 grids, fewer repeats
    python -m bench.landscape --device cuda   # the same tables on a GPU (kernels synchronised
                                              # before every clock reading)

Prints markdown tables:
1. grid: a 51 × 51 slice of a trained model, batched (`backend.networks.landscape.loss_grid`)
   against the per-point loop that Li et al.'s code uses (copy the weights into
   the model, forward the evaluation set; `loss_grid_loop`), for the moons MLP
   2→64→64→2 and the digits MLP 64→128→128→10, each with tanh and ReLU, and the
   digits CNN (convolutions of 8 and 16 channels, ReLU). GFLOP/s count the nominal
   forward FLOPs per grid point, 2·N·Σ(in·out) over the linear layers plus
   2·N·Σ(C_in·k²·C_out·H·W) over the convolutions, for both methods (the batched
   MLP path computes the first layer as an affine combination of three precomputed
   matrices, so it does fewer real FLOPs: its figure is *effective*), against the
   machine's matmul peak measured here (1024³ float32 matmul).
2. streaming: after training, how long until the first coarse 11 × 11 preview
   frame, and until the full grid, per kind of direction (digits MLP).
3. training: µs per optimizer step of `backend.networks.training.train` against a
   bare PyTorch loop over the same batches (forward, backward, step, nothing else),
   for the training (setup, steps, per-epoch evaluation and boundaries: the summary's
   `train_s`) and for the step loop only. What follows training — the one test
   evaluation, the final boundary, the sharpness, a landscape — is analysis of the
   result, timed in the summary, not per-step overhead.

Threads: the grid and streaming tables run with torch.set_num_threads(2) (the
whole 2-core machine, the same threads as the matmul peak); the training table
with torch.set_num_threads(1), a worker's default (`DESCENT_TORCH_THREADS=1`).

Noise: on the shared 2-vCPU VM this was written on, the same computation in the
same process runs in one of two modes for tens of seconds at a time (e.g. the
digits ReLU grid at 0.69 s or 1.0 s, the loop at 1.5 s or 1.8 s), whatever ran
before. Loop and batched timings are therefore interleaved and the best of
several taken; run the bench twice before reading much into a 20% difference.
"""

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch

from backend.networks import NetworkRun, training
from backend.networks import landscape as L
from backend.networks.boundary import snapshot_every

DEVICE = torch.device("cpu")  # --device


def now() -> float:
    """Wall time once the device has finished what was queued (CUDA kernels run async)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
    return time.perf_counter()


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Shortest wall time of `repeats` calls after one warm-up call; with 0, one timed call."""
    if repeats == 0:
        began = now()
        fn()
        return now() - began
    fn()
    times = []
    for _ in range(repeats):
        began = now()
        fn()
        times.append(now() - began)
    return min(times)


def matmul_peak() -> float:
    """GFLOP/s of a 1024³ float32 matmul, the best of 20."""
    a, b = torch.randn(1024, 1024, device=DEVICE), torch.randn(1024, 1024, device=DEVICE)
    seconds = best_of(20, lambda: a @ b)
    return 2 * 1024**3 / seconds / 1e9


def trained(dataset: dict[str, Any], hidden: list[int], activation: str, epochs: int,
            model: str = "mlp") -> tuple[Any, ...]:
    """Train a model (a real run through `train`); its model, final weights, checkpoints, eval data."""
    body = {
        "kind": "network", "dataset": dataset,
        "model": {"name": model, "hidden": hidden, "activation": activation},
        "optimizer": {"name": "adam", "lr": 0.003}, "batch_size": 64, "epochs": epochs, "seed": 0,
        "boundary_every": 500,
    }
    request = NetworkRun.model_validate(body)
    result = training.train(request, DEVICE, lambda kind, records: None, lambda: False)
    prep = training.prepare(request, DEVICE)
    assert result.final_weights is not None and result.checkpoints is not None
    final, checkpoints = result.final_weights.to(DEVICE), result.checkpoints.to(DEVICE)
    L.load_weights(prep.model, final)
    data = L.EvalData(prep.train.x[:1000], prep.train.y[:1000], True)
    return prep.model, final, checkpoints, data


def nominal_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds × 2 of one forward of the samples x through the Linear and Conv2d layers:
    2·N·in·out for a Linear, 2·N·C_in·k²·C_out·H_out·W_out for a convolution."""
    flops = [0]

    def count(module: torch.nn.Module, _inputs: Any, out: torch.Tensor) -> None:
        if isinstance(module, torch.nn.Linear):
            flops[0] += 2 * out.shape[0] * module.in_features * module.out_features
        elif isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            flops[0] += 2 * out.numel() * module.in_channels * k

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return flops[0]


# title, dataset, model, hidden, activations, epochs
CASES: list[tuple[str, dict[str, Any], str, list[int], tuple[str, ...], int]] = [
    ("moons MLP 2→64→64→2", {"name": "moons", "n_samples": 2000, "noise": 0.2}, "mlp", [64, 64],
     ("tanh", "relu"), 10),
    ("digits MLP 64→128→128→10", {"name": "digits"}, "mlp", [128, 128], ("tanh", "relu"), 10),
    ("digits CNN conv 8, 16 → 10", {"name": "digits"}, "cnn", [8, 16], ("relu",), 10),
]


def grid_table(n: int, repeats: int, peak: float) -> list[str]:
    rows = [
        "| model | act | N | grid | per-point loop s | batched s | loop / batched | loop GFLOP/s (% peak) "
        "| batched GFLOP/s (% peak) | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for title, dataset, kind, hidden, activations, epochs in CASES:
        for activation in activations:
            model, final, _, data = trained(dataset, hidden, activation, epochs, kind)
            u, v = L.random_directions(model, torch.Generator().manual_seed(1))
            a, b = L.axis(1.0, n), L.axis(1.0, n)
            ref, _ = L.loss_grid_loop(model, data, final, u, v, a, b)  # warm-up, and the reference
            got, _ = L.loss_grid(model, data, final, u, v, a, b)
            loops, batches = [], []
            for _ in range(repeats):  # interleaved, so both see the same machine (a shared VM is noisy)
                loops.append(best_of(0, lambda: L.loss_grid_loop(model, data, final, u, v, a, b)))  # noqa: B023
                batches.append(best_of(0, lambda: L.loss_grid(model, data, final, u, v, a, b)))  # noqa: B023
            loop, batched = min(loops), min(batches)
            flops = nominal_flops(model, data.x) * n * n
            g_loop, g_batched = flops / loop / 1e9, flops / batched / 1e9
            rows.append(
                f"| {title} | {activation} | {len(data)} | {n}×{n} | {loop:.3f} | {batched:.3f} "
                f"| {loop / batched:.2f}× | {g_loop:.0f} ({100 * g_loop / peak:.0f}%) "
                f"| {g_batched:.0f} ({100 * g_batched / peak:.0f}%) | {float((got - ref).abs().max()):.1e} |"
            )
    return rows


def streaming_table(n: int, repeats: int) -> list[str]:
    rows = ["| model | directions | first preview s | full grid s | refine frames |", "|---|---|---|---|---|"]
    title, dataset, kind, hidden, _, epochs = CASES[1]
    model, final, checkpoints, data = trained(dataset, hidden, "relu", epochs, kind)
    for kind in ("pca", "random", "hessian"):
        marks: dict[str, float] = {}
        frames: list[str] = []

        def emit(message: dict[str, Any], marks: dict[str, float] = marks,
                 frames: list[str] = frames) -> None:
            marks.setdefault(message["stage"], now())
            frames.append(message["stage"])

        preview, done = [], []
        for _ in range(repeats):
            marks.clear()
            frames.clear()
            began = now()
            L.survey(model, data, checkpoints, range(len(checkpoints)), final, kind, shape=(n, n),
                     generator=torch.Generator().manual_seed(0), emit=emit)
            preview.append(marks["preview"] - began)
            done.append(marks["done"] - began)
        rows.append(f"| {title} | {kind} | {min(preview):.3f} | {min(done):.3f} | {frames.count('refine')} |")
    return rows


def bare_loop(request: NetworkRun) -> tuple[float, int]:
    """The same batches through forward, backward and step, nothing else: (seconds, steps)."""
    prep = training.prepare(request, DEVICE)
    model, x, y = prep.model, prep.train.x, prep.train.y
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    generator = training.generator(request.seed, "shuffle")
    batch, steps = request.batch_size, 0
    began = now()
    for _ in range(request.epochs):
        order = torch.randperm(len(x), generator=generator)
        xs, ys = x[order], y[order]
        for start in range(0, len(x), batch):
            optimizer.zero_grad(set_to_none=True)
            loss = prep.loss_fn(model(xs[start:start + batch]), ys[start:start + batch])
            loss.backward()
            optimizer.step()
            steps += 1
    return now() - began, steps


def training_table(repeats: int) -> list[str]:
    rows = [
        "| run | steps | bare µs/step | instrumented µs/step (training) | ratio | step loop only µs/step "
        "| ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for batch, boundary in ((32, None), (32, 500), (8, 500), (1, 500)):
        body = {
            "kind": "network", "dataset": {"name": "moons", "n_samples": 1000, "noise": 0.2},
            "model": {"name": "mlp", "hidden": [32, 32], "activation": "tanh"},
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}, "batch_size": batch,
            "epochs": 30 if batch > 1 else 5, "seed": 0, "boundary_every": boundary,
        }
        request = NetworkRun.model_validate(body)
        bare = min(bare_loop(request)[0] for _ in range(repeats + 1))
        summaries = [training.train(request, DEVICE, lambda kind, records: None, lambda: False).summary
                      for _ in range(repeats + 1)]
        results = [(s["train_s"], s) for s in summaries]
        whole, summary = min(results, key=lambda r: r[0])
        steps = summary["steps"]
        loop_only = min(s["step_loop_s"] for _, s in results)
        every = snapshot_every(request.boundary_every, request.epochs)
        label = f"moons MLP 2→32→32→2 tanh, batch {batch}, " + (
            f"boundary every {every} epochs (default)" if boundary is None
            else "boundary at start and end only")
        rows.append(
            f"| {label} | {steps} | {bare / steps * 1e6:.0f} | {whole / steps * 1e6:.0f} "
            f"| {whole / bare:.2f}× | {loop_only / steps * 1e6:.0f} | {loop_only / bare:.2f}× |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="21 × 21 grids, fewer repeats")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N: where grids and training run")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    n, repeats = (21, 1) if args.quick else (51, 5)

    torch.set_num_threads(2)
    peak = matmul_peak()
    print(f"torch {torch.__version__} on {DEVICE}, torch.set_num_threads(2) for grids; "
          f"matmul peak {peak:.0f} GFLOP/s\n")
    print("\n".join(grid_table(n, repeats, peak)))
    print()
    print("\n".join(streaming_table(n, repeats)))
    print()
    torch.set_num_threads(1)
    print("torch.set_num_threads(1) for training (a worker's default)\n")
    print("\n".join(training_table(repeats)))


if __name__ == "__main__":
    main()
