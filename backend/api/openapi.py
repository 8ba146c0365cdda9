"""The OpenAPI document: its tags, how operations are named, and examples kept whole."""

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from starlette.routing import Match, Route
from starlette.types import Scope

TAGS = [
    {"name": "service", "description": "Health, and the limits this server enforces."},
    {"name": "surfaces", "description": "The analytic surfaces and their grids; grids of typed formulas."},
    {"name": "optimizers", "description": "The torch.optim classes on offer, with every keyword."},
    {"name": "schedules", "description": "The learning-rate schedules (torch.optim.lr_scheduler)."},
    {"name": "runs", "description": "Stored runs: create, list, read, read steps, cancel. Their "
     "websocket stream, `WS /api/runs/{run_id}/stream`, is not part of OpenAPI (docs/api.md)."},
    {"name": "trajectories", "description": "A surface run computed and answered at once, unstored."},
    {"name": "analysis", "description": "Curvature at a point; regime maps (sweeps)."},
    {"name": "networks", "description": "The networks lab's datasets and models; dataset previews."},
    {"name": "landscapes", "description": "Loss landscapes of network runs: read, export, survey "
     "again; runs compared on one plane; the line between two runs."},
    {"name": "rooms", "description": "Live classroom rooms: open one, read it, its QR code. Its "
     "websocket, `WS /api/rooms/{code}/live`, is not part of OpenAPI (docs/api.md)."},
]


def operation_id(route: APIRoute) -> str:
    """`<tag>-<name>` for a route that does not name its operation (routes here all do:
    `runs-create`, `runs-steps`, ...), so a generated client reads well either way."""
    tag = route.tags[0] if route.tags else "api"
    return f"{tag}-{route.name}".replace("_", "-")


class DocumentedAPI(FastAPI):
    """FastAPI whose OpenAPI document keeps the nulls of its examples: FastAPI drops every null
    while it writes the document, so a documented answer such as `{"error": null, ...}` would
    lose fields its schema requires. The examples are written again from the routes, found by
    their operation ids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.documented_routers: list[APIRouter] = []

    def include_router(self, router: APIRouter, *args: Any, **kwargs: Any) -> None:
        self.documented_routers.append(router)
        super().include_router(router, *args, **kwargs)

    def methods_at(self, scope: Scope) -> set[str]:
        """Every method some route answers at the scope's path (an `Allow` header's content)."""
        routes = [*self.router.routes,
                  *(route for router in self.documented_routers for route in router.routes)]
        return {method for route in routes if isinstance(route, Route) and route.methods
                and route.matches(scope)[0] is not Match.NONE for method in route.methods}

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            operations = {operation["operationId"]: operation for path in document["paths"].values()
                          for operation in path.values() if "operationId" in operation}
            for router in self.documented_routers:
                for route in router.routes:
                    if isinstance(route, APIRoute) and route.operation_id in operations:
                        _restore_examples(operations[route.operation_id], route)
        return self.openapi_schema  # type: ignore[return-value]


def _restore_examples(operation: dict[str, Any], route: APIRoute) -> None:
    """The examples of `route`'s responses and request body, nulls included, into `operation`."""
    for status, response in route.responses.items():
        for media_type, content in response.get("content", {}).items():
            examples = {k: v for k, v in content.items() if k in ("example", "examples")}
            operation["responses"][str(status)]["content"][media_type].update(jsonable_encoder(examples))
    body = route.body_field
    named = getattr(body.field_info, "openapi_examples", None) if body is not None else None
    if named:
        for content in operation["requestBody"]["content"].values():
            content["examples"] = jsonable_encoder(named)
