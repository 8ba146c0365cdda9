"""One router per resource; what their OpenAPI declarations share: the run id, documented answers."""

from typing import Annotated, Any

from fastapi import Path

from backend.api.errors import TOO_MANY
from backend.api.schemas.runs import RUN_ID_PATTERN

RunId = Annotated[str, Path(
    description="a run's id, as `POST /api/runs` answered it (16 lowercase hex characters)",
    examples=["16b89c0bb4b94693"], json_schema_extra={"pattern": RUN_ID_PATTERN},
)]

# 429 with the header that says when to retry
BUSY: dict[int | str, dict[str, Any]] = {429: {**TOO_MANY[429], "headers": {"Retry-After": {
    "description": "seconds to wait before trying again", "schema": {"type": "integer"}}}}}


def answer(description: str, example: Any, media_type: str = "application/json",
           **extra: Any) -> dict[str, Any]:
    """One documented response: what it means, and an answer a running server gave."""
    return {"description": description, "content": {media_type: {"example": example}}, **extra}
