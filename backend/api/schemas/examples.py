"""Examples of the OpenAPI document: requests, and the answers a running server gave to them
(numbers rounded to 4 significant digits, long lists cut). Each is valid under its schema
(tests/api/test_openapi.py checks)."""

from typing import Any

# GET /api/health
HEALTH: Any = {
    "status": "ok",
    "device": "cpu",
    "executor": "local",
    "workers": 2,
    "streams": 0,
    "worker_list": [
        {
            "name": "local",
            "host": None,
            "pid": None,
            "device": "cpu",
            "concurrency": 2,
            "running": None,
            "runs": [],
            "seen_at": None,
        }
    ],
}

# GET /api/limits (the defaults)
LIMITS: Any = {
    "max_steps": 10000,
    "max_starts": 40000,
    "max_recorded": 2000000,
    "max_work": 20000000,
    "max_instant_work": 5000000,
    "max_unbatched_starts": 64,
    "max_grid": 501,
    "max_coordinate": 1000000.0,
    "max_expression_length": 500,
    "max_body_bytes": 4000000,
    "runs_per_client": 8,
    "runs_per_address": 64,
    "computations_per_client": 4,
    "computations_per_address": 32,
    "network": {
        "max_epochs": 500,
        "max_steps": 200000,
        "max_parameters": 2000000,
        "max_work": 50000000000,
        "max_samples": 5000,
        "max_csv_bytes": 200000,
        "csv_quota_bytes": 10485760,
        "max_landscape_resolution": 101,
        "max_landscape_work": 200000000000,
        "max_eval_samples": 2000,
    },
    "rooms": {
        "per_client": 5,
        "per_address": 40,
        "per_server": 200,
        "students": 500,
        "idle_seconds": 1800.0,
        "max_scene_bytes": 65536,
        "max_poll_options": 12,
        "max_text": 200,
        "messages_per_second": 30.0,
    },
}

# GET /api/surfaces, first entry
SURFACES: Any = [
    {
        "id": "quadratic",
        "name": "Quadratic bowl",
        "formula": "f(x, y) = x² + y²",
        "domain": {"x": [-4.0, 4.0], "y": [-4.0, 4.0]},
        "minima": [{"x": 0.0, "y": 0.0, "value": 0.0}],
        "saddles": [],
        "start": [-3.0, 2.0],
        "tags": ["convex"],
        "description": "A perfectly round bowl: the gradient points straight at the minimum, so gradient "
        "descent and momentum walk a straight line, while Adam, which rescales each "
        "coordinate, bends away from it. Use it to see what the learning rate alone does to "
        "gradient descent: η < 1 converges, η = 1 oscillates forever, η > 1 diverges.",
        "n_samples": None,
    }
]

# GET /api/surfaces/rosenbrock/grid?n=3
GRID: Any = {
    "x": [-2.0, 0.0, 2.0],
    "y": [-1.0, 1.0, 3.0],
    "z": [[2509.0, 101.0, 2501.0], [909.0, 101.0, 901.0], [109.0, 901.0, 101.0]],
}

# GET /api/surfaces/custom/grid?expression=x^2 + y^2&n=3&x_min=-1&x_max=1&y_min=-2&y_max=2
CUSTOM_GRID: Any = {
    "x": [-1.0, 0.0, 1.0],
    "y": [-2.0, 0.0, 2.0],
    "z": [[5.0, 4.0, 5.0], [1.0, 0.0, 1.0], [5.0, 4.0, 5.0]],
}

# GET /api/optimizers, the sgd entry
OPTIMIZERS: Any = [
    {
        "id": "sgd",
        "name": "SGD",
        "class": "torch.optim.SGD",
        "hyperparameters": [
            {
                "type": "float",
                "description": "learning rate η",
                "min": 0.0,
                "max": 1000.0,
                "exclusive_min": True,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "lr",
                "default": 0.001,
            },
            {
                "type": "float",
                "description": "momentum factor μ",
                "min": 0.0,
                "max": 1.0,
                "exclusive_min": False,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "momentum",
                "default": 0.0,
            },
            {
                "type": "float",
                "description": "dampening for momentum τ",
                "min": 0.0,
                "max": 1.0,
                "exclusive_min": False,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "dampening",
                "default": 0.0,
            },
            {
                "type": "float",
                "description": "weight decay (L2 penalty) λ",
                "min": 0.0,
                "max": 100.0,
                "exclusive_min": False,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "weight_decay",
                "default": 0.0,
            },
            {
                "type": "bool",
                "description": "use Nesterov momentum",
                "min": None,
                "max": None,
                "exclusive_min": False,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "nesterov",
                "default": False,
            },
        ],
        "update_rule": "g ← ∇L(w) + λw;  b ← μ·b + (1 − τ)·g;  d ← g + μ·b (nesterov) or b;  w ← w − η·d",
        "description": "Gradient descent; with momentum μ it is the heavy ball. torch keeps η outside the "
        "buffer (b ← μb + g, w ← w − ηb), the slides fold η into it (u ← γu + ηg).",
        "batched": True,
        "effective_lr": None,
        "family": "torch.optim",
        "paper": {
            "cite": "Polyak, 1964. Some methods of speeding up the convergence of iteration methods",
            "url": "https://doi.org/10.1016/0041-5553(64)90137-5",
        },
    }
]

# GET /api/schedules, the step entry
SCHEDULES: Any = [
    {
        "id": "step",
        "name": "StepLR",
        "class": "torch.optim.lr_scheduler.StepLR",
        "hyperparameters": [
            {
                "type": "int",
                "description": "decay every step_size steps",
                "min": 1.0,
                "max": 1000000.0,
                "exclusive_min": False,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "step_size",
                "default": 100,
            },
            {
                "type": "float",
                "description": "multiplicative factor γ of the decay",
                "min": 0.0,
                "max": 1.0,
                "exclusive_min": True,
                "exclusive_max": False,
                "choices": None,
                "nullable": False,
                "name": "gamma",
                "default": 0.5,
            },
        ],
        "update_rule": "ηₜ = η₀·γ^⌊t / step_size⌋",
        "description": "Multiply the lr by γ every step_size steps.",
        "batched": None,
        "effective_lr": None,
    }
]

# a surface run request
SURFACE_RUN: Any = {
    "kind": "surface",
    "surface": "rosenbrock",
    "optimizer": {"name": "adam", "lr": 0.05},
    "start": [-1.5, 2.0],
    "steps": 2,
}

# a network run request, with a landscape
NETWORK_RUN: Any = {
    "kind": "network",
    "dataset": {"name": "moons", "n_samples": 100},
    "model": {"name": "mlp", "hidden": [8]},
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch_size": 20,
    "epochs": 3,
    "landscape": {"resolution": 3, "eval_samples": 50},
}

# POST /api/runs with SURFACE_RUN → 201 (with the run's key, shown only then)
CREATED_RUN: Any = {
    "id": "16b89c0bb4b94693",
    "kind": "surface",
    "status": "queued",
    "config": {
        "kind": "surface",
        "surface": "rosenbrock",
        "optimizer": {
            "name": "adam",
            "lr": 0.05,
            "betas": [0.9, 0.999],
            "eps": 1e-08,
            "weight_decay": 0.0,
            "amsgrad": False,
            "decoupled_weight_decay": False,
        },
        "schedule": {"name": "constant"},
        "start": [-1.5, 2.0],
        "starts": None,
        "steps": 2,
        "stop": {"grad_norm": 1e-08, "step_norm": 0.0},
        "gradient_noise": 0.0,
        "clip_grad_norm": None,
        "batch_size": None,
        "shuffle": True,
        "seed": 0,
        "record": "all",
    },
    "created_at": "2026-12-01T14:35:37.701944Z",
    "started_at": None,
    "ended_at": None,
    "summary": None,
    "error": None,
    "key": "vO5pmmJ0h3ykD3U0v8WoKQxYw8aV8rDP",
}

# GET /api/runs/{run_id} once it ended
FINISHED_RUN: Any = {
    **{k: v for k, v in CREATED_RUN.items() if k != "key"},
    "status": "finished",
    "created_at": "2026-12-01T14:35:37.701944Z",
    "started_at": "2026-12-01T14:35:37.703762Z",
    "ended_at": "2026-12-01T14:35:37.706626Z",
    "summary": {
        "steps": 2,
        "stop_reason": "budget",
        "stop_step": 2,
        "message": "step budget of 2 used up",
        "final_params": [-1.409, 2.09],
        "final_loss": 6.906,
        "counts": {"finished": 1},
        "elapsed_ms": 1.764,
        "device": "cpu",
        "starts": None,
    },
    "error": None,
}

# GET /api/runs/{run_id} of NETWORK_RUN once it ended
NETWORK_RUN_ENDED: Any = {
    "id": "ec1c20912dd24f73",
    "kind": "network",
    "status": "finished",
    "config": {
        "kind": "network",
        "dataset": {"name": "moons", "n_samples": 100, "noise": None, "csv": None},
        "model": {"name": "mlp", "hidden": [8], "activation": "relu"},
        "optimizer": {
            "name": "sgd",
            "lr": 0.1,
            "momentum": 0.0,
            "dampening": 0.0,
            "weight_decay": 0.0,
            "nesterov": False,
        },
        "schedule": {"name": "constant"},
        "batch_size": 20,
        "epochs": 3,
        "shuffle": True,
        "split": {"val": 0.2, "test": 0.2},
        "early_stopping": None,
        "stop": None,
        "landscape": {
            "directions": "pca",
            "filter_normalize": True,
            "resolution": 3,
            "resolution_y": None,
            "span": 1.0,
            "eval_samples": 50,
        },
        "seed": 0,
        "boundary_every": None,
    },
    "created_at": "2026-12-01T14:35:37.773648Z",
    "started_at": "2026-12-01T14:35:37.785006Z",
    "ended_at": "2026-12-01T14:35:37.865155Z",
    "summary": {
        "task": "classification",
        "test_loss": 0.6437,
        "test_accuracy": 0.95,
        "test_evaluations": 1,
        "best_epoch": 3,
        "best_val_loss": 0.6585,
        "epochs_run": 3,
        "stopped_early": False,
        "restored_best": False,
        "final_train_loss": 0.6482,
        "final_train_accuracy": 0.85,
        "final_val_loss": 0.6585,
        "final_val_accuracy": 0.8,
        "diverged_at_step": None,
        "converged_at_step": None,
        "sharpness_initial": 1.011,
        "sharpness_final": 0.9843,
        "converged_by": None,
        "n_train": 60,
        "n_val": 20,
        "n_test": 20,
        "n_features": 2,
        "n_classes": 2,
        "class_names": ["0", "1"],
        "parameters": 42,
        "steps": 9,
        "batch_size": 20,
        "batches_per_epoch": 3,
        "full_batch": False,
        "schedule_stepping": "epoch",
        "checkpoint_epochs": [0, 1, 2, 3],
        "scaling": None,
        "device": "cpu",
        "seed": 0,
        "setup_s": 0.001758,
        "epoch_end_s": 0.01348,
        "step_loop_s": 0.0115,
        "train_s": 0.02673,
        "elapsed_s": 0.07781,
        "landscape_s": 0.006737,
    },
    "error": None,
}

# GET /api/runs?limit=1
RUN_LIST: Any = {"runs": [NETWORK_RUN_ENDED]}

# GET /api/runs/{run_id}/steps of SURFACE_RUN
SURFACE_STEPS: Any = {
    "steps": [
        {
            "step": 0,
            "params": [-1.5, 2.0],
            "loss": 12.5,
            "grad": [-155.0, -50.0],
            "lr": 0.05,
            "state": {},
            "effective_lr": [None, None],
        },
        {
            "step": 1,
            "params": [-1.45, 2.05],
            "loss": 6.278,
            "grad": [-35.35, -10.5],
            "lr": 0.05,
            "state": {"exp_avg": [-15.5, -5.0], "exp_avg_sq": [24.03, 2.5]},
            "effective_lr": [0.003226, 0.01],
        },
        {
            "step": 2,
            "params": [-1.409, 2.09],
            "loss": 6.906,
            "grad": [54.36, 21.0],
            "lr": 0.05,
            "state": {"exp_avg": [-17.49, -5.55], "exp_avg_sq": [25.25, 2.608]},
            "effective_lr": [0.002341, 0.007286],
        },
    ]
}

# GET /api/runs/{run_id}/steps of NETWORK_RUN, its first two
NETWORK_STEPS: Any = {
    "steps": [
        {"step": 1, "epoch": 1, "loss": 0.71, "lr": 0.1, "grad_norm": 0.2708},
        {"step": 2, "epoch": 1, "loss": 0.7067, "lr": 0.1, "grad_norm": 0.3696},
    ]
}

# POST /api/trajectories
TRAJECTORY: Any = {
    "status": "finished",
    "summary": {
        "steps": 2,
        "stop_reason": "budget",
        "stop_step": 2,
        "message": "step budget of 2 used up",
        "final_params": [-8.225, -2.2],
        "final_loss": 154.8,
        "counts": {"finished": 1},
        "elapsed_ms": 0.9973,
        "device": "cpu",
        "starts": None,
    },
    "steps": [
        {"step": 0, "params": [-9.0, 2.0], "loss": 140.5, "grad": [-9.0, 100.0], "lr": 0.03, "state": {}},
        {
            "step": 1,
            "params": [-8.73, -1.0],
            "loss": 63.11,
            "grad": [-8.73, -50.0],
            "lr": 0.03,
            "state": {"momentum_buffer": [-9.0, 100.0]},
        },
        {
            "step": 2,
            "params": [-8.225, -2.2],
            "loss": 154.8,
            "grad": [-8.225, -110.0],
            "lr": 0.03,
            "state": {"momentum_buffer": [-16.83, 40.0]},
        },
    ],
}

# POST /api/curvature {surface: rosenbrock, point: [1, 1]}
CURVATURE: Any = {
    "gradient": [0.0, 0.0],
    "hessian": [[802.0, -400.0], [-400.0, 200.0]],
    "eigenvalues": [0.3994, 1002.0],
    "eigenvectors": [[-0.4465, -0.8948], [-0.8948, 0.4465]],
    "max_stable_lr": 0.001997,
}

# POST /api/sweeps
SWEEP: Any = {
    "x": [0.001, 0.01, 0.05],
    "y": [0.0, 0.9],
    "final_loss": [[37.24, 14.82, 332500.0], [16.79, 0.6369, 0.09886]],
    "steps": [[50, 50, 10], [50, 50, 50]],
    "status": [["finished", "finished", "diverged"], ["finished", "finished", "finished"]],
}

# GET /api/datasets, the moons entry
DATASETS: Any = [
    {
        "id": "moons",
        "name": "Two moons",
        "description": "Two interleaved half circles.",
        "task": "classification",
        "n_features": 2,
        "n_classes": 2,
        "default_samples": 500,
        "default_noise": 0.2,
        "max_samples": 5000,
    }
]

# GET /api/models, the mlp entry
MODELS: Any = [
    {
        "id": "mlp",
        "name": "MLP",
        "description": "Fully connected layers of the given widths with an activation between them.",
        "task": "either",
        "default_hidden": [32, 32],
        "datasets": None,
        "activations": ["relu", "tanh", "sigmoid", "gelu"],
        "max_layers": 6,
        "max_width": 512,
    }
]

# POST /api/datasets/csv with a 12-row CSV of two features and a class label
STORED_CSV: Any = {"id": "cce7b06f4fdf2456f82fd994ffd2a0b643f9d1738ff44420022c21b7bda3fa4d", "bytes": 170,
                   "rows": 12, "columns": 3}

# POST /api/datasets/preview
PREVIEW: Any = {
    "task": "classification",
    "n_samples": 10,
    "n_features": 2,
    "n_classes": 2,
    "class_names": ["0", "1"],
    "feature_names": ["x0", "x1"],
    "n_train": 6,
    "n_val": 2,
    "n_test": 2,
    "points": {
        "x0": [0.5379, -0.6717, -0.2644, 0.4949, 2.031, 0.9103, 1.842, 0.1555, -0.003993, -0.9523],
        "x1": [-0.07465, 0.541, 0.763, 0.907, 0.35, -0.6782, 0.002266, 0.09051, 1.042, 0.1467],
        "label": [0, 0, 1, 0, 1, 1, 1, 1, 0, 0],
        "split": ["train", "train", "train", "train", "train", "train", "val", "val", "test", "test"],
    },
    "images": None,
}

# GET /api/runs/{run_id}/landscape of NETWORK_RUN (interpolation: 5 of its 41 points)
LANDSCAPE: Any = {
    "directions": "pca",
    "filter_normalize": False,
    "a": [-0.2438, 0.0, 0.2438],
    "b": [-0.02217, 0.0, 0.02217],
    "loss": [[0.5919, 0.6505, 0.7101], [0.5895, 0.6498, 0.7115], [0.5872, 0.6492, 0.7128]],
    "accuracy": [[0.92, 0.84, 0.48], [0.92, 0.84, 0.48], [0.92, 0.84, 0.48]],
    "trajectory": [[0.2217, 0.0002464], [0.1479, -0.009], [0.07362, -0.008246], [0.0, 0.0]],
    "checkpoint_epochs": [0, 1, 2, 3],
    "residual": [0.003823, 0.004858, 0.02442, 0.0],
    "true_loss": [0.7059, 0.6872, 0.6684, 0.6498],
    "slice_loss": [0.7059, 0.6871, 0.6685, 0.6498],
    "final_loss": 0.6498,
    "explained_variance": [0.9971, 0.002802],
    "eigenvalues": None,
    "eval_samples": 50,
    "interpolation": {
        "alpha": [-0.5, 0.0, 0.5, 1.0, 1.5],
        "loss": [0.7333, 0.7059, 0.6779, 0.6498, 0.6221],
        "accuracy": [0.26, 0.48, 0.58, 0.84, 0.86],
    },
    "preview_s": 0.003995,
    "elapsed_s": 0.005683,
}

# POST /api/runs/{run_id}/landscape {directions: random, resolution: 3, eval_samples: 50}
RESURVEY: Any = {
    "directions": "random",
    "filter_normalize": True,
    "a": [-1.0, 0.0, 1.0],
    "b": [-1.0, 0.0, 1.0],
    "loss": [[0.6648, 0.6641, 0.6538], [0.5735, 0.6498, 0.6531], [0.42, 0.4985, 0.5595]],
    "accuracy": [[0.66, 0.48, 0.52], [0.9, 0.84, 0.4], [0.88, 0.9, 0.88]],
    "trajectory": [[0.02632, -0.03049], [0.01796, -0.02308], [0.009041, -0.01263], [0.0, 0.0]],
    "checkpoint_epochs": [0, 1, 2, 3],
    "residual": [0.965, 0.9586, 0.9533, 0.0],
    "true_loss": [0.7059, 0.6872, 0.6684, 0.6498],
    "slice_loss": [0.6547, 0.6534, 0.6517, 0.6498],
    "final_loss": 0.6498,
    "explained_variance": None,
    "eigenvalues": None,
    "eval_samples": 50,
    "interpolation": LANDSCAPE["interpolation"],  # the same run's line from its start to its end
    "preview_s": 0.001261,
    "elapsed_s": 0.002857,
}

# POST /api/landscapes/compare of NETWORK_RUN with sgd and adam
COMPARISON: Any = {
    "a": [-0.4785, 0.0, 0.4785],
    "b": [-0.2018, 0.0, 0.2018],
    "loss": [[0.802, 0.7448, 0.6564], [0.7632, 0.7059, 0.6242], [0.7223, 0.6642, 0.5906]],
    "accuracy": [[0.2, 0.24, 0.6], [0.3, 0.48, 0.86], [0.48, 0.64, 0.86]],
    "explained_variance": [0.8424, 0.1528],
    "eval_samples": 50,
    "runs": [
        {
            "epochs": [0, 1, 2, 3, 3],
            "trajectory": [
                [0.0, 0.0],
                [0.04106, 0.06113],
                [0.08288, 0.1223],
                [0.1239, 0.1835],
                [0.1239, 0.1835],
            ],
            "residual": [0.0, 0.1402, 0.08808, 0.05308, 0.05308],
            "true_loss": [0.7059, 0.6872, 0.6684, 0.6498, 0.6498],
            "id": "ec1c20912dd24f73",
            "status": "finished",
        },
        {
            "epochs": [0, 1, 2, 3, 3],
            "trajectory": [
                [0.0, 0.0],
                [0.1526, 0.006717],
                [0.2917, 0.03562],
                [0.435, 0.05707],
                [0.435, 0.05707],
            ],
            "residual": [0.0, 0.2464, 0.06315, 0.00769, 0.00769],
            "true_loss": [0.7059, 0.6787, 0.6509, 0.6225, 0.6225],
            "id": "a2aed241d20c4cff",
            "status": "finished",
        },
    ],
}

# POST /api/landscapes/interpolate, points: 3
INTERPOLATION: Any = {
    "alpha": [-0.5, 0.5, 1.5],
    "loss": [0.6579, 0.638, 0.6057],
    "accuracy": [0.72, 0.86, 0.84],
}
