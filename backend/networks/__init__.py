"""The networks lab's compute: datasets, models, the request spec and the training loop.

Pure computation (no FastAPI): `train(request, device, emit, cancelled)` runs a
`NetworkRun` and returns a `TrainingResult`; the loss landscape lives in
`backend.networks.landscape`.
"""

from backend.networks.spec import NetworkRun
from backend.networks.training import TrainingResult, train

__all__ = ["NetworkRun", "TrainingResult", "train"]
