"""`WS /api/runs/{id}/stream`: replay from step 0, then live frames, then `end`.

Each watcher reads the run's log at its own pace: whatever piled up since its
last send goes out as one coalesced `steps` message (at most MAX_MESSAGE_STEPS
steps), so a slow client gets fewer, larger frames and never slows the run.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from backend.runs.segments import Frame, as_records

router = APIRouter(prefix="/api", tags=["stream"])
MAX_MESSAGE_STEPS = 1000  # keeps a message well under 1 MiB, a common client default
NOT_FOUND = 4404


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    """Step records built from columns hold NumPy rows: orjson writes them as the lists they were."""
    await websocket.send_text(orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode())


async def _send_frames(websocket: WebSocket, frames: list[Frame], pending: list[dict[str, Any]] | None = None,
                       last: bool = True) -> list[dict[str, Any]]:
    """Coalesce consecutive step frames; other kinds go out one by one, in order. `pending`:
    steps of earlier frames not sent yet; unless `last`, steps left over are returned, not sent."""
    pending = [] if pending is None else pending
    for kind, records in frames:
        if kind == "steps":
            pending.extend(as_records(records))
            while len(pending) >= MAX_MESSAGE_STEPS:
                await _send(websocket, {"type": "steps", "steps": pending[:MAX_MESSAGE_STEPS]})
                pending = pending[MAX_MESSAGE_STEPS:]
            continue
        if pending:
            await _send(websocket, {"type": "steps", "steps": pending})
            pending = []
        for record in as_records(records):
            await _send(websocket, {"type": kind, **record})
    if pending and last:
        await _send(websocket, {"type": "steps", "steps": pending})
        return []
    return pending


async def _until_gone(websocket: WebSocket) -> None:
    """Return when the client has closed the socket (what it sends is ignored)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


class OpenStreams:
    """The stream handlers running in this process, from accept to return (`GET /api/health`
    reports `streams`): a handler must end once its client is gone, even from a queued run."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


@router.websocket("/runs/{run_id}/stream")
async def stream(websocket: WebSocket, run_id: str) -> None:
    with websocket.app.state.streams.held():
        await _serve(websocket, run_id)


async def _serve(websocket: WebSocket, run_id: str) -> None:
    store = websocket.app.state.store
    executor = websocket.app.state.executor
    await websocket.accept()
    try:
        run = await asyncio.to_thread(store.get, run_id)  # (a deleted run's log may linger in memory)
        if run is None:
            await websocket.close(code=NOT_FOUND, reason=f"no run '{run_id}'")
            return
        run_log = executor.live_log(run_id)
        if run_log is None:  # ended before this process kept it: replay from the store,
            run = await asyncio.to_thread(store.get, run_id) or run  # as it ended,
            stored = store.iter_frames(run_id)  # a segment at a time
            pending: list[dict[str, Any]] = []
            while (frame := await asyncio.to_thread(next, stored, None)) is not None:
                pending = await _send_frames(websocket, [frame], pending, last=False)
            await _send_frames(websocket, [], pending)
            await _send(websocket, {
                "type": "end", "status": run.status.value,
                "summary": run.summary.model_dump(mode="json") if run.summary else None,
                "error": run.error,
            })
            await websocket.close(code=1000)
            return
        gone = asyncio.create_task(_until_gone(websocket))
        try:
            epoch, cursor = 0, 0
            while True:
                new_epoch, frames, end, was_reset = run_log.read(epoch, cursor)
                if was_reset:
                    await _send(websocket, {"type": "reset"})
                    epoch, cursor = new_epoch, 0
                if frames:
                    await _send_frames(websocket, frames)
                    cursor += len(frames)
                if end is not None and not frames:
                    await _send(websocket, end)
                    break
                if end is None:
                    more = asyncio.ensure_future(run_log.wait(epoch, cursor))
                    await asyncio.wait({more, gone}, return_when=asyncio.FIRST_COMPLETED)
                    if gone.done():  # the client left (e.g. while the run was queued): stop here
                        more.cancel()
                        return
        finally:
            gone.cancel()
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return
