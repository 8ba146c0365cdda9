"""Analysis on demand: curvature at a point, hyperparameter sweeps (regime maps)."""

import asyncio
from typing import Annotated

import torch
from fastapi import APIRouter, Body, Request

from backend.api.deps import AdmissionDep, ExecutorDep
from backend.api.errors import TOO_LARGE
from backend.api.json import JSON, StrictJSONRoute
from backend.api.ownership import client_of
from backend.api.routes import BUSY, answer
from backend.api.schemas import examples
from backend.api.schemas.analysis import CurvatureOut, CurvatureRequest, SweepOut, SweepRequest
from backend.runs import surface
from backend.surfaces.curvature import curvature
from backend.surfaces.sweeps import Axis, sweep

router = APIRouter(prefix="/api", route_class=StrictJSONRoute, tags=["analysis"], responses=TOO_LARGE)


@router.post("/curvature", response_model=CurvatureOut, operation_id="analysis-curvature",
             summary="Gradient and Hessian at a point",
             responses={200: answer("∇f, ∇²f and its eigen-decomposition, and 2/λ_max", examples.CURVATURE)})
async def point_curvature(request: Annotated[CurvatureRequest, Body(openapi_examples={
    "rosenbrock": {"summary": "Rosenbrock's minimum", "value": {"surface": "rosenbrock", "point": [1, 1]}},
})]) -> JSON:
    """Gradient, Hessian, its eigenvalues/eigenvectors and GD's stability bound 2/λ_max."""
    loss = surface.surface_loss(request.surface)
    result = await asyncio.to_thread(curvature, loss, tuple(request.point))  # type: ignore[arg-type]
    return JSON(result.__dict__)


@router.post("/sweeps", response_model=SweepOut, operation_id="analysis-sweep", summary="A regime map",
             responses={200: answer("per cell: final loss, stop step and status", examples.SWEEP), **BUSY})
async def regime_map(
    request: Annotated[SweepRequest, Body(openapi_examples={"sgd": {
        "summary": "SGD on the ravine: lr × momentum",
        "value": {"run": {"surface": "ravine", "optimizer": {"name": "sgd", "lr": 0.01}, "steps": 50},
                  "x": {"param": "lr", "values": [0.001, 0.01, 0.05]},
                  "y": {"param": "momentum", "values": [0, 0.9]}},
    }})],
    http: Request, executor: ExecutorDep, admission: AdmissionDep,
) -> JSON:
    """Final loss, stop step and status over a grid of hyperparameter values."""
    problem = surface.build_problem(request.run, torch.device("cpu"))
    x = Axis(request.x.param, tuple(request.x.values))
    y = Axis(request.y.param, tuple(request.y.values)) if request.y is not None else None
    async with admission.computing(client_of(http)):
        result = await executor.run_blocking(sweep, problem, x, y)
    return JSON(
        {
            "x": list(x.values),
            "y": list(y.values) if y is not None else None,
            "final_loss": result.final_loss.tolist(),
            "steps": result.stop_step.tolist(),
            "status": [
                [surface.OUTCOME_STATUS[surface.Outcome(o)].value for o in row]
                for row in result.outcome.tolist()
            ],
        }
    )
