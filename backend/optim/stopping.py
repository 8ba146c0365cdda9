"""The course's stopping rules for gradient descent, written once for every engine.

A start has converged when ‖∇L‖ < ε_g or when ‖w_k − w_{k−1}‖ < ε_w; a threshold
of 0 turns its rule off. When both hold at the same step, the step rule is the
one reported.
"""

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

Rule = Literal["grad_norm", "step_norm"]


@dataclass(frozen=True)
class StopRules:
    """ε_g (`grad_norm`) and ε_w (`step_norm`); 0 is off."""

    grad_norm: float = 0.0
    step_norm: float = 0.0

    @property
    def active(self) -> bool:
        return self.grad_norm > 0 or self.step_norm > 0

    def rows(self, grad: Tensor, update: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
        """Masks (B,) of the rows of gradients (B, n) and updates w_k − w_{k−1} (B, n) that meet
        each rule (None: the rule is off, or there is no update yet)."""
        by_grad = grad.square().sum(dim=1) < self.grad_norm**2 if self.grad_norm > 0 else None
        by_step = (
            update.square().sum(dim=1) < self.step_norm**2
            if self.step_norm > 0 and update is not None else None
        )
        return by_grad, by_step

    def met_squared(self, grad_square: float, update_square: float | None) -> Rule | None:
        """`met` for the squares ‖∇L‖² and ‖w_k − w_{k−1}‖², compared with ε² as `rows` compares
        them, so that one start alone stops at the very step it stops at in a batch: ‖g‖ < ε and
        g_x² + g_y² < ε² disagree in the last bit near ε."""
        if self.step_norm > 0 and update_square is not None and update_square < self.step_norm**2:
            return "step_norm"
        if self.grad_norm > 0 and grad_square < self.grad_norm**2:
            return "grad_norm"
        return None

    def met(self, grad_norm: float, update_norm: float | None) -> Rule | None:
        """The rule that ‖∇L‖ and ‖w_k − w_{k−1}‖ (None: no update yet) meet, if any."""
        if self.step_norm > 0 and update_norm is not None and update_norm < self.step_norm:
            return "step_norm"
        if self.grad_norm > 0 and grad_norm < self.grad_norm:
            return "grad_norm"
        return None
