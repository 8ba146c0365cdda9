"""Shared route dependencies: the store and the executor live on `app.state`.

Dependencies are `async def` though none of them waits: FastAPI runs a plain `def` dependency
in its thread pool, a round trip through a worker thread per dependency per request, which
waits for the GIL while a computation holds it."""

from typing import Annotated

from fastapi import Depends, Request

from backend.api.admission import Admission
from backend.runs.executor import Executor
from backend.runs.store import RunStore
from backend.settings import Settings


async def get_store(request: Request) -> RunStore:
    store: RunStore = request.app.state.store
    return store


async def get_executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_admission(request: Request) -> Admission:
    admission: Admission = request.app.state.admission
    return admission


AdmissionDep = Annotated[Admission, Depends(get_admission)]
StoreDep = Annotated[RunStore, Depends(get_store)]
ExecutorDep = Annotated[Executor, Depends(get_executor)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
