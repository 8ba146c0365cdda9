"""Request types that take what JSON Schema's types allow, and no more.

pydantic's lax mode reads `true` as 1, `0` as false and "12" as 12, so a request that breaks
its OpenAPI schema would pass. Request fields use these types instead: `Integer` is 12 or 12.0
(JSON Schema's `integer`), never `true` or "12"; a number field is `Field(strict=True)` (any
JSON number, never `true` or "1.5"); a boolean field is `Field(strict=True)` (only `true` and
`false`). Bounds of an `Integer` field go in its `Field(...)`; an optional or nested integer takes
them inside the type (`integer(ge=...)`, or `Field(ge=..., strict=True)` before
`BeforeValidator(integral)`), or the schema would lose them.
"""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict


def integral(value: Any) -> Any:
    """12.0 is the integer 12; `true`, "12" or 12.5 stay what they are, and strictness refuses them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def integer(**bounds: Any) -> Any:
    """The type of a JSON integer field with pydantic's bounds (`ge`, `le`, `gt`, `lt`)."""
    return Annotated[int, Field(strict=True, **bounds), BeforeValidator(integral)]


Integer = Annotated[int, Strict(), BeforeValidator(integral)]
