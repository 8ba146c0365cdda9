"""How a network run ended: the summary stored with the run."""

from typing import Literal

from pydantic import BaseModel, Field


class NetworkSummary(BaseModel):
    """How a network run ended; the test metrics are from the one evaluation at the end."""

    task: Literal["classification", "regression"]
    test_loss: float | None = Field(description="evaluated once, after training (null: no test split)")
    test_accuracy: float | None
    test_evaluations: int = Field(description="times the test split was evaluated: 1, or 0 without one")
    best_epoch: int | None = Field(description="epoch of the lowest validation loss (0: the initialisation)")
    best_val_loss: float | None
    epochs_run: int
    stopped_early: bool
    restored_best: bool = Field(description="the run ended on the best epoch's weights, not the last")
    final_train_loss: float | None
    final_train_accuracy: float | None
    final_val_loss: float | None
    final_val_accuracy: float | None
    diverged_at_step: int | None
    converged_at_step: int | None = Field(None, description="the step after which a stop rule held")
    sharpness_initial: float | None = Field(
        None, description="eigenvalue of ∇²L with the largest |λ| at the initial weights, on the evaluation "
        "samples (Lanczos); GD with lr η is stable near them only while η < 2/λ (null: model too large)"
    )
    sharpness_final: float | None = Field(None, description="the same at the final weights")
    converged_by: Literal["grad_norm", "step_norm"] | None = Field(
        None, description="which stop rule: ‖∇L(w_{k−1})‖ or ‖w_k − w_{k−1}‖ below its threshold"
    )
    n_train: int
    n_val: int
    n_test: int
    n_features: int
    n_classes: int | None
    class_names: list[str] | None
    parameters: int
    steps: int = Field(description="optimizer steps taken")
    batch_size: int = Field(description="effective: at most n_train")
    batches_per_epoch: int
    full_batch: bool = Field(description="batch_size ≥ n_train: gradient descent")
    schedule_stepping: Literal["epoch", "batch", "loss"]
    checkpoint_epochs: list[int]
    scaling: dict[str, float | list[float]] | None = Field(
        description="standardisation of a CSV's features (and target) with the training split's statistics"
    )
    device: str
    seed: int
    setup_s: float
    epoch_end_s: float = Field(description="seconds spent evaluating, checkpointing, drawing boundaries")
    step_loop_s: float
    train_s: float
    elapsed_s: float
    landscape_s: float | None = None
