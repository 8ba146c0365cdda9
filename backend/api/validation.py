"""422 answers that are always valid JSON, whatever the bad input held.

FastAPI echoes each offending value back as `input`. A value may be anything JSON
can carry, including what JSON cannot carry back out: lone UTF-16 surrogates
(`"\\ud83b"`), integers beyond 64 bits, NaN, or a megabyte of nested lists.
Each echoed value is made writable and bounded here, so reporting an error never
fails: non-finite numbers become null (orjson), lone surrogates U+FFFD, huge
integers their decimal text, and long strings and containers are cut.
"""

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from backend.api.json import JSON

MAX_ECHO_ITEMS = 20  # items of a list or object echoed back
MAX_ECHO_CHARS = 1000  # characters of a string echoed back
MAX_ECHO_DEPTH = 8  # nesting echoed back
INT64 = (-(2**63), 2**64 - 1)  # what orjson writes as a number


def writable(value: Any, depth: int = 0) -> Any:
    """`value` as something orjson always writes, bounded in size."""
    if isinstance(value, str):
        text = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if INT64[0] <= value <= INT64[1] else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ECHO_ITEMS]
        return {writable(str(k)): writable(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [writable(v, depth + 1) for v in value[:MAX_ECHO_ITEMS]]
    return writable(jsonable_encoder(value), depth + 1)


async def validation_error(request: Request, error: Exception) -> JSON:
    """FastAPI's 422 body, with every echoed value made writable (see the module's note)."""
    assert isinstance(error, RequestValidationError)
    return JSON({"detail": [writable(e) for e in error.errors()]}, status_code=422)


__all__ = ["RequestValidationError", "validation_error"]
