"""ASGI middleware of every app: its settings for the request, the request body size limit, the
browser's client identity cookie, and `nosniff` on every answer."""

import contextlib
import secrets
from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import Settings, serving

CLIENT_COOKIE = "descent_client"
CLIENT_COOKIE_SECONDS = 365 * 24 * 3600
NOSNIFF = (b"x-content-type-options", b"nosniff")


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


class ClientCookie:
    """Give every browser a client identity: the `descent_client` cookie (HttpOnly, a year),
    made on its first request and read into `request.state.client_id` on every one, so the page
    lists its own runs (`GET /api/runs`) without holding a secret in its script."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                with contextlib.suppress(CookieError):
                    cookies.load(value.decode("latin-1"))
        known = cookies.get(CLIENT_COOKIE)
        client_id = known.value if known is not None else secrets.token_urlsafe(16)
        scope.setdefault("state", {})["client_id"] = client_id
        if known is not None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = (f"{CLIENT_COOKIE}={client_id}; Path=/; Max-Age={CLIENT_COOKIE_SECONDS}; HttpOnly; "
                  "SameSite=Lax").encode("latin-1")

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, with_cookie)


class NoSniff:
    """`X-Content-Type-Options: nosniff` on every HTTP answer: a browser takes each for the type it
    says it is (a stored CSV, someone's text, is never read as a page or a script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), NOSNIFF]}
            await send(message)

        await self.app(scope, receive, marked)
