"""422 answers that are always valid JSON, even when the bad input was NaN or Infinity."""

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from backend.api.json import JSON


async def validation_error(request: Request, error: Exception) -> JSON:
    """FastAPI's 422 body, encoded by orjson: a NaN echoed back as `input` becomes null."""
    assert isinstance(error, RequestValidationError)
    return JSON({"detail": jsonable_encoder(error.errors())}, status_code=422)


__all__ = ["RequestValidationError", "validation_error"]
