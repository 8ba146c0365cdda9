"""Error answers, shaped as documented: 422 like pydantic's, others `{"detail": str}`."""

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Message(BaseModel):
    """An error in words."""

    detail: str


def unprocessable(loc: list[str], message: str) -> HTTPException:
    """422 in the same shape as a request validation error, naming the field in `loc`."""
    return HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Message, "description": "unknown id"}}
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": Message, "description": "too much work in flight; retry after Retry-After s"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Message, "description": "the run is not in a state that allows this"}
}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": Message, "description": "request body too large"}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": Message,
          "description": "changing a run needs its key (X-Run-Key) or the moderator's token"}
}


async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 whose `Allow` names every method the path has (Starlette names only the first route's)."""
    allowed = ", ".join(sorted(request.app.methods_at(request.scope)))
    return JSONResponse({"detail": f"{request.method} is not allowed here; allowed: {allowed}"}, 405,
                        headers={"Allow": allowed})
