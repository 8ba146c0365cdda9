"""Who may do what with a run: whoever started it holds its key, a moderator holds a token.

`POST /api/runs` answers a run's key once (`secrets.token_urlsafe`, 192 bits); the store
keeps only its SHA-256. Changing a run (cancel, survey again) needs `X-Run-Key`, or
`Authorization: Bearer <DESCENT_ADMIN_TOKEN>`; both are compared in constant time and
never logged. Reading a run by id stays open (ids are unguessable), so share links work.
`GET /api/runs` lists the caller's runs: those made with the same client identity, an
`X-Client-Id` header or the `descent_client` cookie the server gives a page.
"""

import asyncio
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.requests import HTTPConnection

from backend.api.deps import SettingsDep, StoreDep
from backend.clients import Client
from backend.runs.store import RunStore

CLIENT_HEADER = "x-client-id"
MAX_IDENTITY = 128  # characters of a client identity


def new_key() -> tuple[str, str]:
    """A run's key and the hash the store keeps."""
    key = secrets.token_urlsafe(24)
    return key, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def client_identity(connection: HTTPConnection) -> str | None:
    """The caller's identity: its X-Client-Id header, else its cookie (set by `ClientCookie`)."""
    value = connection.headers.get(CLIENT_HEADER) or getattr(connection.state, "client_id", None)
    return value[:MAX_IDENTITY] if value else None


def client_of(connection: HTTPConnection) -> Client:
    """The caller as admission and rooms count it: its identity at its address."""
    address = connection.client.host if connection.client else "unknown"
    return Client(address, client_identity(connection) or "")


async def is_moderator(request: Request, settings: SettingsDep) -> bool:
    """Whether the request carries the moderator token (none is configured by default)."""
    if settings.admin_token is None:
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.admin_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


Moderator = Annotated[bool, Depends(is_moderator)]


def may_change(key: str | None, store: RunStore, run_id: str, moderator: bool) -> None:
    """Raise 403 unless `key` is run `run_id`'s key or the request holds the moderator token."""
    if store.get(run_id) is None:
        raise HTTPException(404, f"no run '{run_id}'")
    if moderator:
        return
    if key is None:
        raise HTTPException(403, f"changing run '{run_id}' needs its key in the X-Run-Key header "
                            "(POST /api/runs answered it once) or the moderator's token")
    stored = store.key_hash(run_id)
    if stored is None or not hmac.compare_digest(key_hash(key), stored):
        raise HTTPException(403, f"X-Run-Key is not run '{run_id}''s key")


async def require_key(
    run_id: str, store: StoreDep, moderator: Moderator,
    x_run_key: Annotated[str | None, Header(description="the run's key, as POST /api/runs gave it")] = None,
) -> None:
    """Dependency of every route that changes a run."""
    await asyncio.to_thread(may_change, x_run_key, store, run_id, moderator)


RunKey = Annotated[None, Depends(require_key)]
