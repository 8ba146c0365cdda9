"""The instrumented training loop of a network run. Pure computation: results go out
through `emit(kind, records)`; nothing here knows about HTTP, JSON encoding or storage.

One epoch visits the n_train training samples once, in batches of `batch_size`
(the last may be smaller; a batch_size ≥ n_train is full-batch gradient descent,
one step per epoch), in a fresh seeded permutation when `shuffle`. Step k
(1-based, counted over the whole run) records the loss of its mini-batch at the
weights *before* update k, the lr and the gradient norm that update used.

Learning-rate schedules step once per epoch (their `total_steps` is the number of
epochs, so `step_size`, `T_max`, … count epochs), except OneCycleLR and CyclicLR,
which step after every batch (their `total_steps` is epochs × batches per epoch)
and ReduceLROnPlateau, which steps once per epoch with the validation loss (the
training loss when there is no validation split).

After every epoch the full training and validation splits are evaluated (eval
mode, no grad) and the flat weights kept as a checkpoint (epoch 0 = the
initialisation). Early stopping watches the validation loss (epoch 0 included):
a new best must be lower than the best so far by more than `min_delta`; after
`patience` epochs without one the run stops. With `restore_best` the run ends on
the best epoch's weights, whether it stopped early or used all its epochs. The
test split is evaluated exactly once, at the end, through the module-level
`evaluate` (tests count its calls). A non-finite batch or training loss ends the
run as `diverged` — a result, not an exception. With `stop`, the course's stopping
rules for gradient descent end the run as `converged` after the first step k whose
batch gradient ‖∇L(w_{k−1})‖ or update ‖w_k − w_{k−1}‖ is below its threshold (one
device sync per step, so only when asked); that epoch is then evaluated as usual.

Sharpness: after the run, the eigenvalue of ∇²L with the largest |λ| at the initial
and the final weights (Lanczos, `SHARPNESS_ITERS` Hessian-vector products, on the
landscape's evaluation samples). Near w, gradient descent with step η is stable only
while η < 2/λ_max: the quadratic model's iteration multiplies that direction by 1 − ηλ.
Skipped (null) for models where parameters × samples exceed `SHARPNESS_WORK`.

Checkpoints are kept every epoch unless (epochs + 1) × parameters would exceed
`MAX_CHECKPOINT_FLOATS`; then every `plan.checkpoint_every` epochs (and the last).

Seeds: every random stream is its own `torch.Generator` (on the CPU, so a seed
gives the same run on any device) seeded with `sub_seed(seed, stream)`, the
model's initialisation included; nothing draws from the global RNG, so runs on
concurrent threads cannot disturb each other.
"""

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import torch
from torch import Tensor, nn

from backend.networks import datasets, models
from backend.networks import landscape as L
from backend.networks.datasets import Dataset, Split
from backend.networks.spec import NetworkRun, Plan
from backend.optim.optimizers import get_optimizer
from backend.optim.schedules import get_schedule
from backend.optim.stopping import StopRules

Emit = Callable[[str, list[dict[str, Any]]], None]
class Ending(StrEnum):
    """How a training run ended (the run's terminal status has the same name)."""

    FINISHED = "finished"
    CONVERGED = "converged"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"


SEED_STREAMS = {"data": 0, "split": 1, "init": 2, "shuffle": 3, "landscape": 4}
BOUNDARY_RESOLUTION = 40  # points per axis of a decision-boundary grid
BOUNDARY_SNAPSHOTS = 25  # about this many per run when boundary_every is null
EVAL_BLOCK = 8192  # samples per forward when evaluating a split
SHARPNESS_SAMPLES = 1000  # evaluation samples of the sharpness (the landscape's, by default)
SHARPNESS_ITERS = 20  # Lanczos steps: the extreme eigenvalue converges first
SHARPNESS_WORK = 100_000_000  # parameters × samples above which the sharpness is skipped


def sub_seed(seed: int, stream: str) -> int:
    """The seed of one random stream of a run: data, split, init, shuffle or landscape."""
    return seed * len(SEED_STREAMS) + SEED_STREAMS[stream]


def generator(seed: int, stream: str) -> torch.Generator:
    return torch.Generator().manual_seed(sub_seed(seed, stream))


@dataclass
class TrainingResult:
    """What a finished (or stopped) network run leaves behind."""

    status: Ending
    summary: dict[str, Any]
    landscape: dict[str, Any] | None = None
    export: bytes | None = None  # torch.save of the landscape (weights, directions, grid)
    checkpoints: Tensor | None = None  # (n_checkpoints, n_params) on the CPU, row 0 the init
    final_weights: Tensor | None = None  # (n_params,) the weights the run ended with (CPU)


@dataclass
class Prepared:
    """A run's data and untrained model, exactly as `train` starts from them."""

    plan: Plan
    data: Dataset
    train: Split
    val: Split
    test: Split
    scaling: dict[str, Any]
    model: nn.Sequential
    loss_fn: Callable[[Tensor, Tensor], Tensor]


def prepare(request: NetworkRun, device: torch.device) -> Prepared:
    """Generate and split the data, build and initialise the model, all on `device`."""
    plan = request.plan()
    d = request.dataset
    data = datasets.load(d.name, d.n_samples, d.noise, d.csv, generator(request.seed, "data"))
    (train, val, test), scaling = datasets.split(data, request.split.val, request.split.test,
                                                 generator(request.seed, "split"))
    m = request.model
    model = models.build(m.name, m.hidden, m.activation, data.shape, generator(request.seed, "init"))
    return Prepared(plan, data, train.to(device), val.to(device), test.to(device), scaling,
                    model.to(device), models.loss_function(data.classification))


def evaluate(model: nn.Module, split: Split, loss_fn: Callable[[Tensor, Tensor], Tensor],
             classification: bool) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) over a whole split, eval mode, no grad."""
    if len(split) == 0:
        return math.nan, None
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device)
    with torch.no_grad():
        for start in range(0, len(split), EVAL_BLOCK):
            x, y = split.x[start:start + EVAL_BLOCK], split.y[start:start + EVAL_BLOCK]
            out = model(x)
            total += loss_fn(out, y) * len(x)
            if classification:
                correct += (out.argmax(-1) == y).sum()
    model.train(was_training)
    loss, hits = torch.stack([total, correct]).tolist()
    return loss / len(split), (hits / len(split) if classification else None)


class _Frames:
    """Step and epoch records waiting to be emitted, in frames of at least `seconds`."""

    def __init__(self, emit: Emit, seconds: float) -> None:
        self.emit = emit
        self.seconds = seconds
        self.last = time.perf_counter()
        # per-step scalars of the steps not yet turned into records, kept as 0-d tensors
        # (no device sync per step); one stack + tolist per frame
        self.losses: list[Tensor] = []
        self.norms: list[Tensor] = []  # per step, the norms of each parameter's gradient
        self.updates: list[Tensor] = []  # per step ‖w_k − w_{k−1}‖, when a stop rule needs it
        self.tensors = 0  # gradient tensors per step
        self.lrs: list[float] = []
        self.epochs: list[int] = []
        self.first = 1  # step number of losses[0]
        self.steps: list[dict[str, Any]] = []
        self.epoch_records: list[dict[str, Any]] = []

    def add(self, loss: Tensor, norms: list[Tensor], lr: float, epoch: int, update: Tensor | None) -> None:
        self.losses.append(loss)
        self.norms.extend(norms)
        if update is not None:
            self.updates.append(update)
        self.tensors = len(norms)
        self.lrs.append(lr)
        self.epochs.append(epoch)

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.seconds

    def materialise(self) -> int | None:
        """Turn pending step scalars into records; the step number of the first non-finite
        loss (records after it are dropped), or None."""
        if not self.losses:
            return None
        grad_norms = torch.stack(self.norms).view(len(self.losses), self.tensors).norm(dim=1)
        columns = [torch.stack(self.losses), grad_norms]
        if self.updates:
            columns.append(torch.stack(self.updates))
        values = torch.stack(columns).tolist()
        bad = next((i for i, v in enumerate(values[0]) if not math.isfinite(v)), None)
        count = len(values[0]) if bad is None else bad + 1
        self.steps.extend(
            {"step": self.first + i, "epoch": self.epochs[i], "loss": values[0][i],
             "lr": self.lrs[i], "grad_norm": values[1][i]}
            | ({"step_norm": values[2][i]} if self.updates else {})
            for i in range(count)
        )
        self.first += len(values[0])
        self.losses, self.norms, self.updates, self.lrs, self.epochs = [], [], [], [], []
        return None if bad is None else self.steps[-1]["step"]

    def flush(self) -> None:
        if self.steps:
            self.emit("steps", self.steps)
            self.steps = []
        if self.epoch_records:
            self.emit("epoch", self.epoch_records)
            self.epoch_records = []
        self.last = time.perf_counter()


@dataclass
class _Boundary:
    """A fixed grid over the data's bounding box (10% margin) for decision-boundary snapshots."""

    x: Tensor  # (R,)
    y: Tensor  # (R,)
    points: Tensor  # (R², 2) row-major: z[iy][ix]
    n_classes: int | None
    sent_data: bool = False

    def __post_init__(self) -> None:
        self.axes = (self.x.tolist(), self.y.tolist())

    @classmethod
    def over(cls, splits: tuple[Split, ...], n_classes: int | None, device: torch.device) -> "_Boundary":
        """Over the samples as the model sees them (a CSV's features standardised)."""
        x = torch.cat([s.x for s in splits]).cpu()
        lo, hi = x.min(0).values, x.max(0).values
        margin = 0.1 * (hi - lo).clamp(min=1e-6)
        xs = torch.linspace(float(lo[0] - margin[0]), float(hi[0] + margin[0]), BOUNDARY_RESOLUTION)
        ys = torch.linspace(float(lo[1] - margin[1]), float(hi[1] + margin[1]), BOUNDARY_RESOLUTION)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).to(device)
        return cls(xs, ys, points, n_classes)

    def snapshot(self, model: nn.Module, epoch: int, splits: tuple[Split, ...],
                 final: bool = False) -> dict[str, Any]:
        """z: P(class 1) for two classes, the predicted class for more, the prediction for regression."""
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model(self.points)
        model.train(was_training)
        if self.n_classes == 2:
            z, kind = out.softmax(-1)[:, 1], "probability"
        elif self.n_classes is not None:
            z, kind = out.argmax(-1).to(out.dtype), "class"
        else:
            z, kind = out[:, 0], "value"
        grid = z.view(BOUNDARY_RESOLUTION, BOUNDARY_RESOLUTION).cpu().double()
        record: dict[str, Any] = {
            "epoch": epoch, "final": final, "z_kind": kind, "x": self.axes[0], "y": self.axes[1],
            "z": grid.mul(1e5).round().div(1e5).tolist(),  # 5 decimals: a smaller message
        }
        if not self.sent_data:  # the samples themselves, once, for the scatter under the boundary
            record["points"] = {
                "x0": torch.cat([s.x[:, 0] for s in splits]).tolist(),
                "x1": torch.cat([s.x[:, 1] for s in splits]).tolist(),
                "label": torch.cat([s.y for s in splits]).tolist(),
                "split": [s.name for s in splits for _ in range(len(s))],
            }
            self.sent_data = True
        return record


@dataclass
class _Progress:
    """Bookkeeping of the epochs: best validation loss, checkpoints, outcome."""

    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: Tensor | None = None
    waited: int = 0
    epochs_run: int = 0
    steps: int = 0
    status: Ending = Ending.FINISHED
    diverged_at: int | None = None
    converged_at: int | None = None
    converged_by: str | None = None  # "grad_norm" | "step_norm"
    epoch_end_s: float = 0.0  # time spent evaluating, checkpointing and drawing boundaries
    checkpoints: list[Tensor] = field(default_factory=list)
    checkpoint_epochs: list[int] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)


def _grad_norms(params: list[nn.Parameter]) -> list[Tensor]:
    """‖∇L‖₂ of each parameter as 0-d tensors (one kernel, no sync); ‖∇L‖₂ is the norm of these,
    taken per frame. A parameter without a gradient counts as 0."""
    grads = [p.grad if p.grad is not None else torch.zeros(1, device=p.device) for p in params]
    return list(torch._foreach_norm(grads))


def _update_norm(params: list[nn.Parameter], before: list[Tensor]) -> Tensor:
    """‖w_k − w_{k−1}‖₂ over all parameters, as a 0-d tensor."""
    parts = torch._foreach_norm(torch._foreach_sub([p.detach() for p in params], before))
    return torch.linalg.vector_norm(torch.stack(parts))


def _stop_rule_met(rules: StopRules, norms: list[Tensor], update: Tensor | None) -> str | None:
    """The stop rule a step meets ("grad_norm" | "step_norm"), or None (syncs the device)."""
    grad_norm = float(torch.linalg.vector_norm(torch.stack(norms))) if rules.grad_norm > 0 else math.inf
    return rules.met(grad_norm, None if update is None else float(update))


def train(request: NetworkRun, device: torch.device, emit: Emit, cancelled: Callable[[], bool],
          frame_seconds: float = 0.05) -> TrainingResult:
    """Run the request on `device`; records go to `emit` as they come, the result at the end."""
    began = time.perf_counter()
    prep = prepare(request, device)
    plan, model, loss_fn = prep.plan, prep.model, prep.loss_fn
    classification = prep.data.classification
    params = list(model.parameters())
    optimizer = get_optimizer(request.optimizer.name).build(params, request.hyperparameters())
    schedule = get_schedule(request.schedule.name)
    scheduler = schedule.build(optimizer, request.schedule_kwargs(), plan.schedule_steps)
    lbfgs = isinstance(optimizer, torch.optim.LBFGS)
    frames = _Frames(emit, frame_seconds)
    shuffle_generator = generator(request.seed, "shuffle")
    splits = (prep.train, prep.val, prep.test)
    boundary = _Boundary.over(splits, prep.data.n_classes, device) if prep.data.x.shape[1] == 2 else None
    every = request.boundary_every or max(1, math.ceil(request.epochs / BOUNDARY_SNAPSHOTS))
    x_train, y_train = prep.train.x, prep.train.y
    n_train, batch = len(prep.train), plan.batch_size
    full_batch = batch >= n_train
    state = _Progress()
    patience = request.early_stopping
    stop = StopRules(request.stop.grad_norm, request.stop.step_norm) if request.stop is not None else None
    if stop is not None and not stop.active:
        stop = None
    watch_updates = stop is not None and stop.step_norm > 0

    def step(xb: Tensor, yb: Tensor) -> tuple[Tensor, list[Tensor]]:
        """One optimizer update on a batch: (batch loss, per-parameter gradient norms) before it."""
        if lbfgs:
            first: list[tuple[Tensor, list[Tensor]]] = []

            def closure() -> Tensor:
                optimizer.zero_grad(set_to_none=True)
                value = loss_fn(model(xb), yb)
                value.backward()
                if not first:
                    first.append((value.detach(), _grad_norms(params)))
                return value

            optimizer.step(closure)  # type: ignore[arg-type]  # torch's stub says float; a Tensor is usual
            return first[0]
        optimizer.zero_grad(set_to_none=True)
        value = loss_fn(model(xb), yb)
        value.backward()
        norms = _grad_norms(params)
        optimizer.step()
        return value.detach(), norms

    def end_epoch(epoch: int, lr: float) -> bool:
        """Evaluate, checkpoint, schedule, early-stop; True when the run must stop."""
        began_epoch_end = time.perf_counter()
        try:
            return epoch_end(epoch, lr)
        finally:
            state.epoch_end_s += time.perf_counter() - began_epoch_end

    def epoch_end(epoch: int, lr: float) -> bool:
        train_loss, train_acc = evaluate(model, prep.train, loss_fn, classification)
        val_loss, val_acc = (evaluate(model, prep.val, loss_fn, classification) if len(prep.val)
                             else (None, None))
        record = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                  "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr}
        frames.epoch_records.append(record)
        state.last = record
        state.epochs_run = epoch
        weights = L.weights_of(model)
        if epoch % plan.checkpoint_every == 0 or epoch == request.epochs:
            state.checkpoints.append(weights)
            state.checkpoint_epochs.append(epoch)
        if not math.isfinite(train_loss):  # the last update blew up the weights
            state.status = Ending.DIVERGED
            state.diverged_at = state.steps
            return True
        if epoch > 0 and not plan.schedule_per_batch:
            schedule.step(scheduler, val_loss if val_loss is not None else train_loss)
        if boundary is not None and epoch % every == 0:
            frames.materialise()
            frames.flush()
            emit("boundary", [boundary.snapshot(model, epoch, splits)])
        if val_loss is not None and val_loss < state.best_loss - (patience.min_delta if patience else 0):
            state.best_loss, state.best_epoch, state.best_weights = val_loss, epoch, weights
            state.waited = 0
        elif epoch > 0:
            state.waited += 1
        if patience is not None and state.waited >= patience.patience:
            state.status = Ending.EARLY_STOPPED
            return True
        return False

    lr = float(optimizer.param_groups[0]["lr"])
    setup_s = time.perf_counter() - began
    ended = end_epoch(0, lr)
    for epoch in range(1, request.epochs + 1):
        if ended:
            break
        model.train()
        if full_batch or not request.shuffle:
            xs, ys = x_train, y_train
        else:
            order = torch.randperm(n_train, generator=shuffle_generator).to(device)
            xs, ys = x_train[order], y_train[order]
        for start in range(0, n_train, batch):
            if cancelled():
                state.status = Ending.CANCELLED
                break
            lr = optimizer.param_groups[0]["lr"]
            before = [p.detach().clone() for p in params] if watch_updates else None
            loss, norms = step(xs[start:start + batch], ys[start:start + batch])
            if plan.schedule_per_batch:
                schedule.step(scheduler, loss)
            update = _update_norm(params, before) if before is not None else None
            frames.add(loss, norms, lr, epoch, update)
            state.steps += 1
            if stop is not None and (rule := _stop_rule_met(stop, norms, update)) is not None:
                state.converged_at, state.converged_by = state.steps, rule
                break
            if frames.due():
                state.diverged_at = frames.materialise()
                frames.flush()
                if state.diverged_at is not None:
                    state.status = Ending.DIVERGED
                    break
        if state.status in (Ending.CANCELLED, Ending.DIVERGED):
            break
        state.diverged_at = frames.materialise()
        if state.diverged_at is not None:
            state.status = Ending.DIVERGED
            break
        ended = end_epoch(epoch, lr)
        if frames.due():
            frames.flush()
        if state.converged_at is not None:
            if state.status is not Ending.DIVERGED:
                state.status = Ending.CONVERGED
            break
    if state.diverged_at is None:
        state.diverged_at = frames.materialise()
    frames.flush()
    train_s = time.perf_counter() - began
    if state.diverged_at is not None:
        state.status = Ending.DIVERGED

    restored = False
    if (patience is not None and patience.restore_best and state.best_weights is not None
            and state.status in (Ending.EARLY_STOPPED, Ending.FINISHED, Ending.CONVERGED)):
        L.load_weights(model, state.best_weights)
        restored = state.best_epoch != state.epochs_run
    final = L.weights_of(model)
    summary = _summary(request, prep, state, restored, device)
    summary |= {"setup_s": setup_s, "epoch_end_s": state.epoch_end_s,
                "step_loop_s": train_s - setup_s - state.epoch_end_s}
    checkpoints = torch.stack(state.checkpoints)
    result = TrainingResult(state.status, summary, checkpoints=checkpoints.cpu(), final_weights=final.cpu())
    if state.status in (Ending.CANCELLED, Ending.DIVERGED):
        if state.status is Ending.DIVERGED:  # how sharp the start was says why
            summary |= _sharpness(request, prep, checkpoints[0], None)
        summary["elapsed_s"] = summary["train_s"] = train_s
        return result

    test_loss, test_acc = (evaluate(model, prep.test, loss_fn, classification) if len(prep.test)
                           else (None, None))
    summary |= {"test_loss": test_loss, "test_accuracy": test_acc,
                "test_evaluations": 1 if len(prep.test) else 0}
    if boundary is not None:
        emit("boundary", [boundary.snapshot(model, state.best_epoch if restored else state.epochs_run,
                                            splits, final=True)])
    if request.landscape is not None:
        began_landscape = time.perf_counter()
        try:
            survey = _survey(request, prep, checkpoints, state.checkpoint_epochs, final, emit, cancelled)
        except L.Cancelled:
            result.status = Ending.CANCELLED
        else:
            result.landscape = survey.report
            buffer = io.BytesIO()
            torch.save(survey.export, buffer)
            result.export = buffer.getvalue()
        summary["landscape_s"] = time.perf_counter() - began_landscape
    if result.status is not Ending.CANCELLED:
        summary |= _sharpness(request, prep, checkpoints[0], final)
    summary["train_s"] = train_s
    summary["elapsed_s"] = time.perf_counter() - began
    return result


def eval_subset(prep: Prepared, samples: int, g: torch.Generator) -> L.EvalData:
    """The fixed evaluation subset of landscapes: `samples` training samples drawn with `g`
    (the run's landscape stream, so a run's grid and a later comparison use the same ones)."""
    pick = torch.randperm(len(prep.train), generator=g)[:samples].to(prep.train.x.device)
    return L.EvalData(prep.train.x[pick], prep.train.y[pick], prep.data.classification)


def _sharpness(request: NetworkRun, prep: Prepared, initial: Tensor,
               final: Tensor | None) -> dict[str, float | None]:
    """λ with the largest |λ| of ∇²L at the initial and final weights (module docstring);
    the model is left at `final` (or at `initial` when there is none)."""
    samples = min(SHARPNESS_SAMPLES, len(prep.train))
    if prep.plan.parameters * samples > SHARPNESS_WORK:
        return {"sharpness_initial": None, "sharpness_final": None}
    data = eval_subset(prep, samples, generator(request.seed, "landscape"))
    values: dict[str, float | None] = {}
    for key, weights in (("sharpness_initial", initial), ("sharpness_final", final)):
        if weights is None:
            values[key] = None
            continue
        L.load_weights(prep.model, weights)
        _, eigenvalues = L.hessian_eigenpairs(prep.model, prep.loss_fn, data, k=1, iters=SHARPNESS_ITERS,
                                              generator=generator(request.seed, "landscape"))
        value = float(eigenvalues[0])
        values[key] = value if math.isfinite(value) else None
    return values


def _survey(request: NetworkRun, prep: Prepared, checkpoints: Tensor, epochs: list[int], final: Tensor,
            emit: Emit, cancelled: Callable[[], bool]) -> L.Survey:
    spec = request.landscape
    assert spec is not None
    g = generator(request.seed, "landscape")
    data = eval_subset(prep, spec.eval_samples, g)
    return L.survey(prep.model, data, checkpoints, epochs, final, spec.directions,
                    filter_normalize=spec.filter_normalize, shape=spec.shape, span=spec.span,
                    generator=g, emit=lambda message: emit("landscape", [message]), cancelled=cancelled)


def _summary(request: NetworkRun, prep: Prepared, state: _Progress, restored: bool,
             device: torch.device) -> dict[str, Any]:
    plan = prep.plan
    last = state.last
    return {
        "task": "classification" if prep.data.classification else "regression",
        "test_loss": None, "test_accuracy": None, "test_evaluations": 0,
        "best_epoch": state.best_epoch if state.best_weights is not None else None,
        "best_val_loss": state.best_loss if math.isfinite(state.best_loss) else None,
        "epochs_run": state.epochs_run,
        "stopped_early": state.status == Ending.EARLY_STOPPED,
        "restored_best": restored,
        "final_train_loss": last.get("train_loss"), "final_train_accuracy": last.get("train_accuracy"),
        "final_val_loss": last.get("val_loss"), "final_val_accuracy": last.get("val_accuracy"),
        "diverged_at_step": state.diverged_at,
        "converged_at_step": state.converged_at, "converged_by": state.converged_by,
        "n_train": len(prep.train), "n_val": len(prep.val), "n_test": len(prep.test),
        "n_features": prep.data.x.shape[1], "n_classes": prep.data.n_classes,
        "class_names": list(prep.data.class_names) if prep.data.class_names else None,
        "parameters": plan.parameters, "steps": state.steps, "batch_size": plan.batch_size,
        "batches_per_epoch": plan.batches_per_epoch, "full_batch": plan.batch_size >= len(prep.train),
        "schedule_stepping": ("loss" if get_schedule(request.schedule.name).monitors_loss
                              else "batch" if plan.schedule_per_batch else "epoch"),
        "checkpoint_epochs": state.checkpoint_epochs,
        "scaling": prep.scaling or None,
        "device": str(device), "seed": request.seed,
    }
