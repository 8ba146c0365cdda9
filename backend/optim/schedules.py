"""Registry over `torch.optim.lr_scheduler`: id -> scheduler class and its keywords.

Schedules are stepped once per optimizer step. Keywords that only say how long
the run is (`T_max`, `total_steps`, `max_lr`) default to the run's own length
and the optimizer's lr when left `null`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel
from torch.optim import lr_scheduler as S

from backend.optim.hyperparameters import Hyperparameter, Metadata, describe, spec_model

# Keywords the engine fills in itself.
ENGINE_KEYWORDS = frozenset(
    {"self", "optimizer", "last_epoch", "total_steps", "epochs", "steps_per_epoch", "scale_fn", "lr_lambda"}
)

METADATA: dict[str, Metadata] = {
    "step_size": Metadata("int", "decay every step_size steps", min=1, max=1_000_000),
    "gamma": Metadata("float", "multiplicative factor γ of the decay", min=0.0, max=1.0, exclusive_min=True),
    "milestones": Metadata("int_list", "steps at which the lr is multiplied by γ", min=1),
    "T_max": Metadata(
        "int",
        "steps of half a cosine period (null: the whole run)",
        min=1,
        max=1_000_000,
        nullable=True,
    ),
    "T_0": Metadata("int", "steps until the first restart", min=1, max=1_000_000),
    "T_mult": Metadata("int", "factor by which the period grows after a restart", min=1, max=10),
    "eta_min": Metadata("float", "smallest learning rate", min=0.0, max=1000.0),
    "max_lr": Metadata(
        "float",
        "peak learning rate (null: the optimizer's lr)",
        min=0.0,
        max=1000.0,
        exclusive_min=True,
        nullable=True,
    ),
    "base_lr": Metadata(
        "float",
        "lowest learning rate of the cycle (null: the optimizer's lr / 10)",
        min=0.0,
        max=1000.0,
        exclusive_min=True,
        nullable=True,
    ),
    "pct_start": Metadata(
        "float", "fraction of the run spent increasing the lr", min=0.0, max=1.0, exclusive_min=True
    ),
    "anneal_strategy": Metadata("choice", "annealing shape", choices=("cos", "linear")),
    "cycle_momentum": Metadata(
        "bool", "cycle momentum (or β₁) inversely to the lr; needs an optimizer with momentum"
    ),
    "base_momentum": Metadata("float", "lowest momentum of the cycle", min=0.0, max=1.0),
    "max_momentum": Metadata("float", "highest momentum of the cycle", min=0.0, max=1.0),
    "div_factor": Metadata("float", "initial lr = max_lr / div_factor", min=1.0, max=1e6),
    "final_div_factor": Metadata("float", "final lr = initial lr / final_div_factor", min=1.0, max=1e9),
    "three_phase": Metadata("bool", "a third phase annihilates the lr"),
    "start_factor": Metadata(
        "float", "lr multiplier at the first step", min=0.0, max=1.0, exclusive_min=True
    ),
    "end_factor": Metadata("float", "lr multiplier after total_iters steps", min=0.0, max=1.0),
    "total_iters": Metadata("int", "steps the schedule takes to reach its end", min=1, max=1_000_000),
    "power": Metadata("float", "exponent p", min=0.0, max=10.0),
    "mode": Metadata("choice", "minimise the monitored loss", choices=("min",)),
    "factor": Metadata(
        "float", "factor by which the lr is reduced", min=0.0, max=1.0, exclusive_min=True, exclusive_max=True
    ),
    "patience": Metadata("int", "steps without improvement before reducing", min=0, max=100_000),
    "threshold": Metadata("float", "improvement smaller than this does not count", min=0.0, max=1.0),
    "threshold_mode": Metadata("choice", "relative or absolute threshold", choices=("rel", "abs")),
    "cooldown": Metadata("int", "steps to wait after a reduction", min=0, max=100_000),
    "min_lr": Metadata("float", "lower bound on the lr", min=0.0, max=1000.0),
    "eps": Metadata("float", "smallest change of lr that is applied", min=0.0, max=1.0),
    "step_size_up": Metadata("int", "steps in the increasing half of a cycle", min=1, max=1_000_000),
    "step_size_down": Metadata(
        "int",
        "steps in the decreasing half (null: step_size_up)",
        min=1,
        max=1_000_000,
        nullable=True,
    ),
    "scale_mode": Metadata("choice", "scale per cycle or per step", choices=("cycle", "iterations")),
}
OVERRIDES: dict[str, dict[str, Metadata]] = {
    "ExponentialLR": {
        "gamma": Metadata("float", "lr multiplied by γ every step", min=0.0, max=1.0, exclusive_min=True)
    },
    "CyclicLR": {
        "mode": Metadata("choice", "cycle shape", choices=("triangular", "triangular2", "exp_range")),
        "gamma": Metadata("float", "decay of exp_range", min=0.0, max=1.0, exclusive_min=True),
    },
    "PolynomialLR": {"power": Metadata("float", "power of the polynomial", min=0.0, max=10.0)},
}


def inverse_power(power: float) -> Callable[[int], float]:
    """LambdaLR multiplier 1 / (t + 1)^p: step t + 1 uses η₀ / (t + 1)^p, the course's η_i = η₀ / i^p."""
    return lambda t: 1.0 / math.pow(t + 1, power)


class InversePowerLR(S.LambdaLR):
    """The course's decaying step η_i = η₀ / i^p (i = 1, 2, ...), a `LambdaLR`.

    With p ∈ (1/2, 1] the steps satisfy Robbins–Monro: Σ η_i = ∞ and Σ η_i² < ∞.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, power: float = 0.3) -> None:
        super().__init__(optimizer, inverse_power(power))


class ConstantSchedule:
    """No scheduler: the lr stays what the optimizer was given."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def step(self) -> None:
        """Nothing to change."""


@dataclass(frozen=True)
class ScheduleInfo:
    """One registry entry: a scheduler class and how the API exposes it."""

    id: str
    name: str
    cls: type
    class_path: str
    update_rule: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]

    def build(self, optimizer: torch.optim.Optimizer, kwargs: dict[str, Any], total_steps: int) -> Any:
        """The real scheduler; run-length keywords left `null` are filled in here. An lr bound
        left `null` follows each param group's own lr (one group: a number, as a user would
        write it; several, a regime map's cells: one per group, as each cell alone would get)."""
        kwargs = dict(kwargs)
        lrs = [group["lr"] for group in optimizer.param_groups]

        def per_group(divisor: float) -> float | list[float]:
            return lrs[0] / divisor if len(lrs) == 1 else [lr / divisor for lr in lrs]

        if self.cls is S.CosineAnnealingLR and kwargs.get("T_max") is None:
            kwargs["T_max"] = total_steps
        if self.cls is S.OneCycleLR:
            kwargs["total_steps"] = total_steps
            if kwargs.get("max_lr") is None:
                kwargs["max_lr"] = per_group(1)
        if self.cls is S.CyclicLR:
            if kwargs.get("max_lr") is None:
                kwargs["max_lr"] = per_group(1)
            if kwargs.get("base_lr") is None:
                kwargs["base_lr"] = per_group(10)
        if "milestones" in kwargs:
            kwargs["milestones"] = list(kwargs["milestones"])
        return self.cls(optimizer, **kwargs)

    @property
    def monitors_loss(self) -> bool:
        """ReduceLROnPlateau steps with the loss; the others step blind."""
        return self.cls is S.ReduceLROnPlateau

    def step(self, scheduler: Any, loss: "float | torch.Tensor") -> None:
        """One `scheduler.step()`: with the monitored loss for ReduceLROnPlateau (read only then,
        so a blind schedule costs no device sync), blind otherwise."""
        if self.monitors_loss:
            scheduler.step(float(loss))
        else:
            scheduler.step()


def _entry(
    id: str,
    cls: type,
    rule: str,
    description: str,
    defaults: dict[str, Any] | None = None,
    class_path: str | None = None,
) -> ScheduleInfo:
    return ScheduleInfo(
        id=id,
        name=cls.__name__,
        cls=cls,
        class_path=class_path or f"torch.optim.lr_scheduler.{cls.__name__}",
        update_rule=rule,
        description=description,
        hyperparameters=describe(cls, ENGINE_KEYWORDS, METADATA | OVERRIDES.get(cls.__name__, {}), defaults),
    )


SCHEDULES: dict[str, ScheduleInfo] = {
    e.id: e
    for e in [
        _entry("constant", ConstantSchedule, "ηₜ = η₀", "The lr never changes.", class_path="(no scheduler)"),
        _entry(
            "step",
            S.StepLR,
            "ηₜ = η₀·γ^⌊t / step_size⌋",
            "Multiply the lr by γ every step_size steps.",
            {"step_size": 100, "gamma": 0.5},
        ),
        _entry(
            "multistep",
            S.MultiStepLR,
            "ηₜ = η₀·γ^(number of milestones ≤ t)",
            "Multiply the lr by γ at each milestone.",
            {"milestones": (100, 200), "gamma": 0.1},
        ),
        _entry(
            "exponential", S.ExponentialLR, "ηₜ = η₀·γᵗ", "Multiply the lr by γ every step.", {"gamma": 0.99}
        ),
        _entry(
            "cosine",
            S.CosineAnnealingLR,
            "ηₜ = η_min + ½(η₀ − η_min)(1 + cos(π·t / T_max))",
            "Half a cosine from η₀ down to η_min over T_max steps.",
            {"T_max": None},
        ),
        _entry(
            "cosine_warm_restarts",
            S.CosineAnnealingWarmRestarts,
            "cosine annealing restarted after T₀, T₀·T_mult, ... steps",
            "Cosine annealing that jumps back to η₀ at each restart.",
            {"T_0": 100},
        ),
        _entry(
            "onecycle",
            S.OneCycleLR,
            "lr rises from max_lr/div_factor to max_lr over pct_start of the run, then anneals "
            "to max_lr/(div_factor·final_div_factor)",
            "The one-cycle policy: warm up, then anneal, over the whole run.",
            {"max_lr": None},
        ),
        _entry(
            "linear",
            S.LinearLR,
            "ηₜ = η₀·(start_factor + (end_factor − start_factor)·min(t, total_iters)/total_iters)",
            "Linear warm-up (or decay) of the lr over total_iters steps.",
            {"start_factor": 0.1, "total_iters": 50},
        ),
        _entry(
            "polynomial",
            S.PolynomialLR,
            "ηₜ = η₀·(1 − min(t, total_iters)/total_iters)^power",
            "Polynomial decay to zero over total_iters steps.",
            {"total_iters": 500},
        ),
        _entry(
            "inverse_power",
            InversePowerLR,
            "η_i = η₀ / i^p,  i = t + 1 = 1, 2, ...",
            "The course's decaying step (LambdaLR). With 1/2 < p ≤ 1 it meets the "
            "Robbins–Monro conditions Σηᵢ = ∞, Σηᵢ² < ∞; the default p = 0.3 decays more "
            "slowly than that.",
            class_path="torch.optim.lr_scheduler.LambdaLR",
        ),
        _entry(
            "cyclic",
            S.CyclicLR,
            "triangular cycles between base_lr and max_lr",
            "Cyclical learning rates.",
            {"base_lr": None, "max_lr": None, "step_size_up": 100, "cycle_momentum": False},
        ),
        _entry(
            "plateau",
            S.ReduceLROnPlateau,
            "η ← max(η·factor, min_lr) after `patience` steps without improvement of the loss",
            "Reduce the lr when the loss stops improving (stepped with the loss).",
            {"patience": 20},
        ),
    ]
}


def get_schedule(schedule_id: str) -> ScheduleInfo:
    return SCHEDULES[schedule_id]


def spec_models() -> list[type[BaseModel]]:
    """One request model per schedule: `{"name": id, <torch keyword>: value, ...}`."""
    return [
        spec_model(
            f"{info.name}Schedule" if info.id != "constant" else "ConstantSchedule",
            info.id,
            info.hyperparameters,
            info.description,
        )
        for info in SCHEDULES.values()
    ]
