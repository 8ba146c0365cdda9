"""The OpenAPI document tells the whole truth (issue #14): readable operation ids filed under one
tag each, an example for every answer and request (each valid under its schema, each request
one the server accepts), links from `POST /api/runs` to every operation that takes its id, and
the server's rules in the schema: bounds, patterns, enums, discriminators, and the rules across
fields in words. Read from an app in this process; nothing is fuzzed here
(tests/api/test_openapi_fuzz.py fuzzes a served one)."""

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from backend.main import create_app
from backend.optim import optimizers
from backend.settings import Settings
from backend.surfaces.catalogue import SURFACES

JSON_MEDIA = "application/json"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings(data_dir=tmp_path_factory.mktemp("doc"))).openapi()
    return doc


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def by_id(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    found = [op for _, _, op in operations(document) if op["operationId"] == operation_id]
    assert len(found) == 1, operation_id
    return found[0]


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def validator(document: dict[str, Any], sub: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator of `sub`, its `$ref`s resolved in the document."""
    return jsonschema_rs.Draft202012Validator({**sub, "components": document["components"]})


def examples_of(media: dict[str, Any]) -> list[Any]:
    values = [media["example"]] if "example" in media else []
    return values + [e["value"] for e in media.get("examples", {}).values() if "value" in e]


# --- names, tags, examples ------------------------------------------------------------------


def test_operation_ids_are_a_tag_and_a_verb(document: dict[str, Any]) -> None:
    """`runs-create`, `runs-steps`, ...: each operation under one declared tag, its id led by it."""
    declared = {tag["name"] for tag in document["tags"]}
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(document):
        (tag,) = operation["tags"]
        assert tag in declared, (method, path)
        assert re.fullmatch(rf"{tag}-[a-z]+(-[a-z]+)*", operation["operationId"]), (method, path)
        assert operation.get("summary"), operation["operationId"]
    assert {"runs-create", "runs-steps", "runs-get", "landscapes-export"} <= set(ids)


def test_every_answer_has_an_example(document: dict[str, Any]) -> None:
    """JSON, CSV, NDJSON and the binary export alike (a 204, such as ending a room, has no body)."""
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, operation["operationId"]
            if not status.startswith("2") or status == "204":
                continue
            for media_type, media in response["content"].items():
                assert "example" in media or media.get("examples"), (operation["operationId"], media_type)


def test_examples_are_valid_under_their_schemas(document: dict[str, Any]) -> None:
    """Requests and answers, nulls included (FastAPI drops nulls from examples unless the app
    writes them back: backend/api/openapi.py)."""
    checked = 0
    for _, _, operation in operations(document):
        media_types = [(f"{operation['operationId']} request", m)
                       for m in operation.get("requestBody", {}).get("content", {}).values()]
        media_types += [(f"{operation['operationId']} {status} {name}", m)
                        for status, response in operation["responses"].items()
                        for name, m in response.get("content", {}).items()]
        for where, media in media_types:
            for example in examples_of(media):
                errors = [e.message for e in validator(document, media["schema"]).iter_errors(example)]
                assert not errors, (where, errors[:3])
                checked += 1
    assert checked >= 30


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


# the request examples that name runs, which a fresh server does not have
NAMES_RUNS = {"landscapes-survey", "landscapes-compare", "landscapes-interpolate"}


@pytest.mark.anyio
async def test_request_examples_are_accepted(document: dict[str, Any], client: httpx.AsyncClient) -> None:
    sent = 0
    for path, method, operation in operations(document):
        if operation["operationId"] in NAMES_RUNS:
            continue
        for example in examples_of(operation.get("requestBody", {}).get("content", {}).get(JSON_MEDIA, {})):
            response = await client.request(method, path, json=example)
            assert response.status_code < 300, (operation["operationId"], response.text)
            sent += 1
    assert sent >= 6


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- issue #14: operations stateful testing could not reach ---------------------------------


def test_every_operation_that_takes_a_run_id_is_linked_from_runs_create(document: dict[str, Any]) -> None:
    """Stateful fuzzing only reaches `GET /api/runs/{run_id}` and the others with a real id when
    the document links them from the operation that hands ids out."""
    links = by_id(document, "runs-create")["responses"]["201"]["links"]
    taking = {op["operationId"] for path, _, op in operations(document) if "{run_id}" in path}
    assert taking == {link["operationId"] for link in links.values()}
    assert len(taking) == 8
    for link in links.values():
        assert link["parameters"]["run_id"] == "$response.body#/id"
    changing = {op["operationId"] for path, _, op in operations(document) if "{run_id}" in path
                and any(p["name"] == "x-run-key" for p in op["parameters"])}
    assert changing == {"runs-cancel", "runs-pin", "runs-unpin", "landscapes-survey"}
    for operation_id in changing:  # they need the run's key, which only runs-create answers
        assert links[operation_id]["parameters"]["header.x-run-key"] == "$response.body#/key"


# --- issue #14: operations that rejected most of what their schema allowed -----------------


def test_the_run_request_is_a_discriminated_union(document: dict[str, Any]) -> None:
    body = by_id(document, "runs-create")["requestBody"]["content"][JSON_MEDIA]["schema"]
    assert body["discriminator"] == {"propertyName": "kind", "mapping": {
        "surface": "#/components/schemas/SurfaceRun", "network": "#/components/schemas/NetworkRun"}}
    assert "without `kind` is a surface run" in body["description"]
    assert "kind" in schema(document, "NetworkRun")["required"]  # only a surface run may omit it
    assert "kind" not in schema(document, "SurfaceRun")["required"]
    for name in ("optimizer", "schedule"):
        assert schema(document, "SurfaceRun")["properties"][name]["discriminator"]["propertyName"] == "name"
    trajectory = by_id(document, "trajectories-compute")["requestBody"]["content"][JSON_MEDIA]["schema"]
    assert trajectory == {"$ref": "#/components/schemas/SurfaceRun"}


def test_the_schema_names_what_the_server_knows(document: dict[str, Any]) -> None:
    """Catalogue ids, the formula's characters, sweepable hyperparameters, run ids."""
    surface = schema(document, "SurfaceRun")["properties"]["surface"]["oneOf"][0]
    assert surface["enum"] == list(SURFACES)
    grid = by_id(document, "surfaces-grid")["parameters"][0]
    assert grid["name"] == "surface_id" and grid["schema"]["enum"] == list(SURFACES)
    expression = schema(document, "CustomSurface")["properties"]["expression"]
    query = next(p for p in by_id(document, "surfaces-custom-grid")["parameters"]
                 if p["name"] == "expression")
    for formula in (expression, query["schema"]):
        assert formula["minLength"] == 1 and formula["maxLength"] == 500
        assert re.match(formula["pattern"], "sin(x)*cos(y) + 0.1*(x^2 + y^2)")
        assert not re.match(formula["pattern"], "x # a comment") and not re.match(formula["pattern"], "  ")
    params = schema(document, "SweepAxis")["properties"]["param"]["enum"]
    floats = {h.name for o in optimizers.OPTIMIZERS.values() for h in o.hyperparameters if h.type == "float"}
    assert set(params) == floats | {"beta1", "beta2"}
    runs = schema(document, "CompareRequest")["properties"]["runs"]
    assert runs["uniqueItems"] is True and runs["minItems"] == 2 and runs["items"]["pattern"]
    assert schema(document, "InterpolationRequest")["properties"]["from"]["pattern"] == "^[0-9a-f]{16}$"


def test_rules_across_two_fields_are_conditions(document: dict[str, Any]) -> None:
    """`csv` exactly with `name: "csv"`; `batch_size` only on a data-driven surface."""
    dataset = schema(document, "DatasetSpec")
    assert dataset["if"]["properties"]["name"] == {"const": "csv"}
    assert dataset["then"]["required"] == ["csv"] and dataset["else"]["properties"]["csv"] == {"type": "null"}
    run = schema(document, "SurfaceRun")
    assert run["if"]["properties"]["surface"]["enum"] == ["linear_regression"]
    assert run["else"]["properties"]["batch_size"] == {"type": "null"}


@pytest.mark.parametrize("name", ["SurfaceRun", "NetworkRun", "SweepRequest", "DatasetSpec", "ModelSpec",
                                  "CompareRequest", "InterpolationRequest"])
def test_other_rules_across_fields_are_described(document: dict[str, Any], name: str) -> None:
    assert "must" in schema(document, name)["description"] or "Rules across fields" in (
        schema(document, name)["description"])


def test_no_pydantic_keyword_leaks_into_the_schema(document: dict[str, Any]) -> None:
    """An optional bounded integer once came out as `{"type": "integer", "ge": 10}`: JSON Schema
    ignores `ge`, so the bound was not in the document."""
    text = json.dumps(document["components"])
    for keyword in ("ge", "le", "gt", "lt", "strict", "allow_inf_nan"):
        assert f'"{keyword}":' not in text, keyword


# --- what the fuzzer found once the schema let it through -----------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("change", "status"), [
    ({"seed": False}, 422),  # an integer is not a boolean ...
    ({"steps": "3"}, 422),  # ... nor a string
    ({"steps": 3.0}, 201),  # but 3.0 is the integer 3, as JSON Schema says
    ({"shuffle": 1}, 422),  # a boolean is true or false only
    ({"gradient_noise": True}, 422),  # a number is not a boolean
    ({"optimizer": {"name": "sgd", "nesterov": 0}}, 422),
    ({"optimizer": {"name": "lbfgs", "max_iter": 5.0}, "gradient_noise": 0.0}, 201),
])
async def test_types_are_those_of_json_schema(
    client: httpx.AsyncClient, change: dict[str, Any], status: int
) -> None:
    body = {"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 3} | change
    response = await client.post("/api/runs", json=body)
    assert response.status_code == status, response.text


@pytest.mark.anyio
async def test_a_carriage_return_in_a_csv_is_no_server_error(client: httpx.AsyncClient) -> None:
    """csv.reader raised its own error (a 500) on a lone carriage return; it now ends a line."""
    rows = "x,y\r" + "".join(f"{i},{i % 2}\r" for i in range(12))
    response = await client.post("/api/datasets/preview", json={"dataset": {"name": "csv", "csv": rows}})
    assert response.status_code == 200, response.text
    assert response.json()["n_samples"] == 12
    too_wide = {"dataset": {"name": "csv", "csv": "1," * 70_000}}  # a field longer than csv reads
    response = await client.post("/api/datasets/preview", json=too_wide)
    assert response.status_code == 422 and "dataset.csv" in response.text
