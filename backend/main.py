"""The ASGI app: `backend.main:app`. Routers, the static page, and the executor's lifetime."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

from backend.api.admission import admission_for
from backend.api.answers import AnswerCache
from backend.api.errors import method_not_allowed
from backend.api.middleware import BodySizeLimit, ClientCookie, NoSniff, ServingSettings
from backend.api.openapi import TAGS, DocumentedAPI, operation_id
from backend.api.routes import analysis, catalogue, networks, rooms, runs, stream
from backend.api.validation import RequestValidationError, validation_error
from backend.rooms.hub import LocalRooms, Rooms
from backend.rooms.redis import RedisRooms
from backend.runs.compute import freeze_startup_objects
from backend.runs.executor import Executor, LocalExecutor
from backend.runs.redis.executor import RedisExecutor
from backend.runs.store import RunStore, StoreFull
from backend.settings import Settings, get_settings

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
log = logging.getLogger("backend")


class PageMount(Mount):
    """The static page at `/`, leaving `/api` to the API: a wrong method on an API path answers
    405 with `Allow`, an unknown API path 404 in JSON, instead of the page's files answering."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app with its own store and executor (tests build several, each on its own data dir)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = RunStore(settings.database_url or settings.data_dir / "descent.sqlite3")
        executor: Executor = (
            await RedisExecutor.connect(store, settings) if settings.executor == "redis"
            else LocalExecutor(store, settings.workers, settings.device, settings.torch_threads,
                               settings.log_memory_bytes)
        )
        app.state.settings, app.state.store, app.state.executor = settings, store, executor
        rooms_hub: Rooms = (
            await RedisRooms.connect(settings) if settings.executor == "redis" else LocalRooms(settings)
        )
        app.state.rooms = rooms_hub
        app.state.admission = admission_for(executor, settings)
        app.state.answers = AnswerCache()
        await executor.warm_up()
        freeze_startup_objects()
        resumed = await executor.resume_unfinished()
        if resumed:
            log.info("resumed %d unfinished runs", resumed)
        yield
        await rooms_hub.close()
        await executor.close()
        store.close()

    app = DocumentedAPI(
        title="Descent Lab",
        version="1.0",
        description="Watch real torch.optim optimizers move. The contract, with the websocket "
        "stream that OpenAPI cannot describe, is docs/api.md.",
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.streams = stream.OpenStreams()
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServingSettings, settings=settings)
    app.add_middleware(ClientCookie)
    app.add_middleware(NoSniff)  # outermost: the body limit's own 413 is marked too
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StoreFull, runs.storage_full)
    app.add_exception_handler(405, method_not_allowed)
    app.include_router(catalogue.router)
    app.include_router(runs.router)
    app.include_router(stream.router)
    app.include_router(analysis.router)
    app.include_router(networks.router)
    app.include_router(rooms.router)
    logging.getLogger("uvicorn.error").addFilter(rooms.REDACT_KEYS)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        """Plotly from the installed `plotly` package: the page needs no internet."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.router.routes.append(PageMount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend"))
    return app


app = create_app()
