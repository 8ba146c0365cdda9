"""Request bounds read from the serving app's settings when a request is validated.

`Annotated[int, Field(ge=1), AtMost("max_steps")]` refuses a value above
`current_settings().max_steps` with pydantic's own error (the same 422 body as
`Field(le=...)`), and the OpenAPI document of each app shows that app's bound:
both read the settings of the app that is serving the request, so
`create_app(settings)` with other limits validates, documents and reports
(`GET /api/limits`) the same numbers.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticKnownError, core_schema

from backend.settings import current_settings


def limit(name: str) -> Any:
    """The current value of one setting."""
    return getattr(current_settings(), name)


@dataclass(frozen=True)
class _Bound:
    """A bound named by a setting, checked after the type's own validation."""

    setting: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.json_schema(limit(self.setting)))
        return json_schema

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def json_schema(self, bound: Any) -> dict[str, Any]:
        raise NotImplementedError


class AtMost(_Bound):
    """value ≤ the setting."""

    def check(self, value: Any) -> Any:
        bound = limit(self.setting)
        if value > bound:
            raise PydanticKnownError("less_than_equal", {"le": bound})
        return value

    def json_schema(self, bound: Any) -> dict[str, Any]:
        return {"maximum": bound}


class Magnitude(_Bound):
    """−setting ≤ value ≤ setting."""

    def check(self, value: Any) -> Any:
        bound = limit(self.setting)
        if value > bound:
            raise PydanticKnownError("less_than_equal", {"le": bound})
        if value < -bound:
            raise PydanticKnownError("greater_than_equal", {"ge": -bound})
        return value

    def json_schema(self, bound: Any) -> dict[str, Any]:
        return {"minimum": -bound, "maximum": bound}


class MaxItems(_Bound):
    """A list of at most the setting's number of items."""

    def check(self, value: Any) -> Any:
        bound = limit(self.setting)
        if len(value) > bound:
            raise PydanticKnownError(
                "too_long", {"field_type": "List", "max_length": bound, "actual_length": len(value)}
            )
        return value

    def json_schema(self, bound: Any) -> dict[str, Any]:
        return {"maxItems": bound}


class MaxLength(_Bound):
    """A string of at most the setting's number of characters."""

    def check(self, value: Any) -> Any:
        bound = limit(self.setting)
        if len(value) > bound:
            raise PydanticKnownError("string_too_long", {"max_length": bound})
        return value

    def json_schema(self, bound: Any) -> dict[str, Any]:
        return {"maxLength": bound}


def at_most(what: str, value: int, setting: str, advice: str) -> None:
    """Refuse (ValueError, a 422 at the edge) when a derived size exceeds a setting."""
    bound = limit(setting)
    if value > bound:
        raise ValueError(f"{what} = {value:,} exceeds {bound:,}; {advice}")

