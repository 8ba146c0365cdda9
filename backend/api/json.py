"""Fast JSON responses for large payloads: orjson writes NaN and ±inf as null."""

from typing import Any

import orjson
from fastapi.responses import Response


class JSON(Response):
    """`application/json` encoded by orjson (non-finite floats become null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
