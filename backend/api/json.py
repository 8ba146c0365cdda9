"""JSON in and out with orjson: responses write NaN and ±inf as null; request bodies are parsed
so that a lone UTF-16 surrogate or nesting deeper than 1,024 levels is a 422 ("JSON decode
error", FastAPI's own answer) instead of a value validation cannot handle. NaN and Infinity,
which Python's parser reads, still reach validation, whose 422 names the field."""

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute


class JSON(Response):
    """`application/json` encoded by orjson (non-finite floats become null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def parse_body(body: bytes) -> Any:
    """orjson's reading of `body`; where orjson refuses, Python's, unless that holds what JSON
    cannot write back (a lone surrogate) or nests too deep. Raises json.JSONDecodeError."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as strict:  # a json.JSONDecodeError
        try:
            value = json.loads(body)  # NaN, Infinity
            orjson.dumps(value)  # a lone surrogate cannot be written back
        except (RecursionError, TypeError, ValueError):
            raise strict from None
        return value


class StrictJSONRequest(Request):
    """A request whose `json()` is `parse_body`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_body(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose handler reads its body through `StrictJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
