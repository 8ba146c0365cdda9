"""Catalogue endpoints through a real server: health, surfaces and their grids, optimizers,
schedules, and the OpenAPI document."""

import inspect
import math
from typing import Any

import httpx
import pytest
import torch

from backend.surfaces.catalogue import SURFACES
from tests.conftest import Server, strict_json
from tests.unit.test_optimizers import TORCH_CLASSES

OPTIMIZER_CLASSES = TORCH_CLASSES  # the torch class of each id, named in the tests
# Keywords that pick an implementation (or the parameters themselves), not the algorithm.
NOT_HYPERPARAMETERS = {"params", "foreach", "fused", "capturable", "differentiable", "maximize"}
SCHEDULE_IDS = ["constant", "step", "exponential", "cosine", "onecycle", "linear", "inverse_power",
                "plateau"]
SURFACE_FIELDS = {"id", "name", "formula", "domain", "minima", "saddles", "start", "tags",
                  "description"}


def get_json(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return strict_json(response.text)


def value_at(surface_id: str, x: float, y: float) -> float:
    """f(x, y) by the catalogue's own torch function (float64)."""
    return float(SURFACES[surface_id].fn(torch.tensor([x, y], dtype=torch.float64)))


# --- service and surfaces --------------------------------------------------------------------


def test_health_reports_status_device_executor_and_workers(client: httpx.Client) -> None:
    health = get_json(client, "/api/health")
    assert health["status"] == "ok"
    assert health["device"] == "cpu" or health["device"].startswith("cuda:")
    assert health["executor"] in ("local", "redis")
    assert isinstance(health["workers"], int) and health["workers"] >= 1


def test_surfaces_list_has_every_contract_field(client: httpx.Client) -> None:
    surfaces = get_json(client, "/api/surfaces")
    assert len(surfaces) >= 14
    assert [s["id"] for s in surfaces] == list(SURFACES)
    assert len({s["id"] for s in surfaces}) == len(surfaces)
    for s in surfaces:
        assert s.keys() >= SURFACE_FIELDS, s["id"]
        (x0, x1), (y0, y1) = s["domain"]["x"], s["domain"]["y"]
        assert x0 < x1 and y0 < y1, s["id"]
        x, y = s["start"]
        assert x0 <= x <= x1 and y0 <= y <= y1, s["id"]
        assert s["minima"] or s["saddles"], f"{s['id']} lists no stationary point"
        for point in s["minima"] + s["saddles"]:
            assert {"x", "y", "value"} <= point.keys()
            assert point["value"] == pytest.approx(value_at(s["id"], point["x"], point["y"]),
                                                   rel=1e-6, abs=1e-6)
        assert isinstance(s["tags"], list) and all(isinstance(t, str) for t in s["tags"])
        assert s["name"] and s["formula"] and s["description"]


@pytest.mark.parametrize("surface_id", list(SURFACES))
def test_grid_is_z_of_y_row_and_x_column_over_the_domain(client: httpx.Client, surface_id: str) -> None:
    n = 7
    grid = get_json(client, f"/api/surfaces/{surface_id}/grid", n=n)
    (x0, x1), (y0, y1) = SURFACES[surface_id].domain
    assert len(grid["x"]) == n and len(grid["y"]) == n
    assert grid["x"][0] == pytest.approx(x0) and grid["x"][-1] == pytest.approx(x1)
    assert grid["y"][0] == pytest.approx(y0) and grid["y"][-1] == pytest.approx(y1)
    assert len(grid["z"]) == n and all(len(row) == n for row in grid["z"])
    for i, j in [(0, 0), (0, n - 1), (n - 1, 0), (1, 5), (5, 2), (3, 3)]:
        expected = value_at(surface_id, grid["x"][j], grid["y"][i])
        if math.isfinite(expected):
            assert grid["z"][i][j] == pytest.approx(expected, rel=1e-9, abs=1e-9), (i, j)
        else:
            assert grid["z"][i][j] is None


@pytest.mark.parametrize(
    ("surface_id", "window"),
    [
        ("rosenbrock", {"x_min": -1.0, "x_max": 2.0, "y_min": 0.5, "y_max": 1.0}),
        ("ravine", {"x_min": -10.0, "x_max": 10.0, "y_min": -0.1, "y_max": 0.3}),
        ("himmelblau", {"x_min": 2.5, "x_max": 3.5}),  # y stays the domain's
    ],
)
def test_grid_over_a_non_square_window(client: httpx.Client, surface_id: str,
                                        window: dict[str, float]) -> None:
    n = 5
    grid = get_json(client, f"/api/surfaces/{surface_id}/grid", n=n, **window)
    (_, _), (dy0, dy1) = SURFACES[surface_id].domain
    assert grid["x"][0] == pytest.approx(window["x_min"])
    assert grid["x"][-1] == pytest.approx(window["x_max"])
    assert grid["y"][0] == pytest.approx(window.get("y_min", dy0))
    assert grid["y"][-1] == pytest.approx(window.get("y_max", dy1))
    # x and y differ everywhere off the diagonal, so a transposed z cannot pass
    for i in range(n):
        for j in range(n):
            expected = value_at(surface_id, grid["x"][j], grid["y"][i])
            assert grid["z"][i][j] == pytest.approx(expected, rel=1e-9, abs=1e-9), (i, j)


def test_grid_of_an_unknown_surface_is_404(client: httpx.Client) -> None:
    response = client.get("/api/surfaces/no_such_surface/grid")
    assert response.status_code == 404
    assert "no_such_surface" in response.text


@pytest.mark.parametrize(
    "params",
    [{"n": 2}, {"n": 100_000}, {"x_min": 2.0, "x_max": 1.0}, {"y_min": "nan"}],
    ids=["n-too-small", "n-too-large", "x-window-reversed", "nan-bound"],
)
def test_grid_rejects_bad_query(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get("/api/surfaces/quadratic/grid", params=params)
    assert response.status_code == 422, response.text


def test_custom_grid_of_an_expression(client: httpx.Client) -> None:
    grid = get_json(client, "/api/surfaces/custom/grid", expression="sin(x)*cos(y) + 0.1*(x^2 + y^2)",
                    x_min=-3, x_max=3, y_min=-1, y_max=2, n=6)
    assert grid["x"][0] == -3 and grid["x"][-1] == 3 and grid["y"][0] == -1 and grid["y"][-1] == 2
    for i, y in enumerate(grid["y"]):
        for j, x in enumerate(grid["x"]):
            expected = math.sin(x) * math.cos(y) + 0.1 * (x**2 + y**2)
            assert grid["z"][i][j] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_custom_grid_sends_non_finite_values_as_null(client: httpx.Client) -> None:
    response = client.get("/api/surfaces/custom/grid", params={
        "expression": "log(x) + 1/y", "x_min": -1, "x_max": 1, "y_min": 0, "y_max": 1, "n": 3})
    assert response.status_code == 200
    assert "NaN" not in response.text and "Infinity" not in response.text
    z = strict_json(response.text)["z"]
    # x = -1, 0, 1 (log: nan, -inf, 0); y = 0, 0.5, 1 (1/y: inf, 2, 1)
    assert z[0] == [None, None, None]
    assert z[1] == [None, None, 2.0]
    assert z[2] == [None, None, 1.0]


def test_custom_grid_that_does_not_parse_is_422_naming_the_token(client: httpx.Client) -> None:
    response = client.get("/api/surfaces/custom/grid", params={
        "expression": "__import__('os')", "x_min": 0, "x_max": 1, "y_min": 0, "y_max": 1})
    assert response.status_code == 422
    assert "__import__" in response.text


# --- optimizers and schedules -----------------------------------------------------------------


@pytest.fixture(scope="module")
def optimizers(server: Server) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=server.url) as http:
        return {o["id"]: o for o in get_json(http, "/api/optimizers")}


@pytest.mark.parametrize("optimizer_id", list(OPTIMIZER_CLASSES))
def test_optimizer_entry_names_the_torch_class(optimizers: dict[str, Any], optimizer_id: str) -> None:
    entry = optimizers[optimizer_id]
    cls = OPTIMIZER_CLASSES[optimizer_id]
    assert entry["class"] == f"torch.optim.{cls.__name__}"
    assert entry["name"] and entry["update_rule"]
    for h in entry["hyperparameters"]:
        assert {"name", "type", "default", "min", "max", "description"} <= h.keys()
        if h["min"] is not None and h["max"] is not None:
            assert h["min"] <= h["max"]


@pytest.mark.parametrize("optimizer_id", list(OPTIMIZER_CLASSES))
def test_optimizer_hyperparameters_are_the_signature_with_its_defaults(
    optimizers: dict[str, Any], optimizer_id: str
) -> None:
    signature = inspect.signature(OPTIMIZER_CLASSES[optimizer_id]).parameters
    expected = {
        name: p.default
        for name, p in signature.items()
        if name not in NOT_HYPERPARAMETERS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    listed = {h["name"]: h["default"] for h in optimizers[optimizer_id]["hyperparameters"]}
    assert list(listed) == list(expected)
    for name, default in expected.items():
        if isinstance(default, torch.Tensor):
            default = default.item()
        if isinstance(default, tuple):
            default = list(default)
        assert listed[name] == default, name
        assert type(listed[name]) is type(default) or {type(listed[name]), type(default)} <= {
            int, float}, name


def test_schedules_list_the_contract_ids(client: httpx.Client) -> None:
    schedules = {s["id"]: s for s in get_json(client, "/api/schedules")}
    assert set(SCHEDULE_IDS) <= schedules.keys()
    for schedule_id, entry in schedules.items():
        assert {"id", "name", "class", "hyperparameters", "update_rule"} <= entry.keys()
        if schedule_id != "constant":
            assert entry["class"].startswith("torch.optim.lr_scheduler."), schedule_id
        for h in entry["hyperparameters"]:
            assert {"name", "type", "default", "min", "max", "description"} <= h.keys()
    assert schedules["plateau"]["class"] == "torch.optim.lr_scheduler.ReduceLROnPlateau"
    assert schedules["cosine"]["class"] == "torch.optim.lr_scheduler.CosineAnnealingLR"


# --- OpenAPI ----------------------------------------------------------------------------------

API_PATHS = {
    "/api/health": "get",
    "/api/surfaces": "get",
    "/api/surfaces/{surface_id}/grid": "get",
    "/api/surfaces/custom/grid": "get",
    "/api/optimizers": "get",
    "/api/schedules": "get",
    "/api/runs": "post",
    "/api/runs/{run_id}": "delete",
    "/api/runs/{run_id}/steps": "get",
    "/api/trajectories": "post",
    "/api/curvature": "post",
    "/api/sweeps": "post",
}


@pytest.fixture(scope="module")
def openapi(server: Server) -> dict[str, Any]:
    with httpx.Client(base_url=server.url) as http:
        document: dict[str, Any] = get_json(http, "/openapi.json")
        return document


def test_openapi_documents_every_endpoint(openapi: dict[str, Any]) -> None:
    for path, method in API_PATHS.items():
        assert method in openapi["paths"].get(path, {}), f"{method.upper()} {path}"
    assert "get" in openapi["paths"]["/api/runs"]
    assert "get" in openapi["paths"]["/api/runs/{run_id}"]


def test_openapi_run_request_has_real_schemas_with_bounds(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    body = openapi["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]
    assert "SurfaceRun" in str(body["schema"])
    run = schemas["SurfaceRun"]["properties"]
    optimizer_refs = {ref["$ref"].rsplit("/", 1)[1] for ref in run["optimizer"]["oneOf"]}
    assert {"SGDOptimizer", "AdamOptimizer", "LBFGSOptimizer"} <= optimizer_refs
    assert run["steps"]["maximum"] == 10_000 and run["steps"]["minimum"] == 1

    adam = schemas["AdamOptimizer"]
    assert adam["additionalProperties"] is False
    assert adam["properties"]["lr"]["exclusiveMinimum"] == 0
    assert adam["properties"]["lr"]["default"] == 0.001
    betas = adam["properties"]["betas"]
    assert betas["default"] == [0.9, 0.999]
    for item in betas["prefixItems"]:
        assert item["minimum"] == 0 and item["exclusiveMaximum"] == 1
    sgd = schemas["SGDOptimizer"]["properties"]
    assert sgd["momentum"]["minimum"] == 0 and sgd["momentum"]["maximum"] == 1


BINARY = {"type": "string", "format": "binary"}


def _schema_is_a_model(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A `$ref` to a component with properties, or an array of such."""
    if "items" in schema:
        return _schema_is_a_model(schema["items"], schemas)
    ref = schema.get("$ref")
    if ref is None:
        return False
    return bool(schemas[ref.rsplit("/", 1)[1]].get("properties"))


def test_openapi_every_api_response_is_a_pydantic_model(openapi: dict[str, Any]) -> None:
    """API.md: everything served appears with real schemas (pydantic models, not `dict`);
    a file (a `.pt` export) is declared as binary, a stored CSV's text as a string, and a 204
    declares no body."""
    schemas = openapi["components"]["schemas"]
    loose = []
    for path, operations in openapi["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            ok = [str(code) for code in operation["responses"] if str(code).startswith("2")]
            for code in ok:
                content = operation["responses"][code].get("content", {})
                if code == "204":  # No Content: an answer without a body has no schema to give
                    if content:
                        loose.append(f"{method.upper()} {path} → a 204 that declares a body")
                    continue
                if set(content) == {"text/csv"}:  # a stored CSV's text, as it was stored
                    if content["text/csv"].get("schema") != {"type": "string"}:
                        loose.append(f"{method.upper()} {path} → a text without a string schema")
                    continue
                if set(content) == {"application/octet-stream"}:
                    if content["application/octet-stream"].get("schema") != BINARY:
                        loose.append(f"{method.upper()} {path} → a file without a binary schema")
                    continue
                schema = content.get("application/json", {}).get("schema", {})
                if not _schema_is_a_model(schema, schemas):
                    loose.append(f"{method.upper()} {path} → {schema}")
    assert not loose, "responses without a model schema:\n" + "\n".join(loose)
