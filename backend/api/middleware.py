"""ASGI middleware of every app: its settings for the request, and the request body size limit."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import Settings, serving


class ServingSettings:
    """Make the app's settings the current ones while it serves a request or a websocket, so
    validation, the OpenAPI document and `GET /api/limits` read the same limits."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with serving(self.settings):
            await self.app(scope, receive, send)


class BodySizeLimit:
    """Pure ASGI middleware: answer 413 when a request body exceeds `max_bytes`.

    A declared Content-Length over the limit is refused before reading. A streamed
    (chunked) body is counted as it arrives: past the limit the middleware answers
    413 itself, tells the app the client left, and drops whatever the app sends.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        seen = 0
        answered = False

        async def limited() -> Message:
            nonlocal seen, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    answered = True
                    await _too_large(send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not answered:
                await send(message)

        await self.app(scope, limited, guarded)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = f'{{"detail":"request body exceeds {max_bytes} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
