"""Fixtures: the fake control API on a real socket, and the console wired to it with a fixed clock.

Every wait here is on something happening (a state change, a worker finishing, a stream opening), never
on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

sys.path.insert(0, str(Path(__file__).parent))

from fake_api import OPERATOR, T0, FakeApi, FakeApiServer

from voltyard_tui.app import VoltyardApp
from voltyard_tui.client import ApiClient, Backoff
from voltyard_tui.models import Event

# Times on screen are local times: make them the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()

WAIT = 10.0


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi.with_site()


@pytest.fixture
async def api(fake: FakeApi) -> AsyncIterator[FakeApiServer]:
    server = FakeApiServer(fake)
    await server.start()
    yield server
    await server.stop()


def build_app(url: str, export_dir: Path, token: str = OPERATOR, *, read_only: bool = False) -> VoltyardApp:
    """The console as the tests run it: no periodic polls, quick reconnects, the fake's fixed clock."""
    return VoltyardApp(
        ApiClient(url, token),
        read_only=read_only,
        poll_interval=3600.0,
        backoff=Backoff(base=0.05, cap=0.2),
        export_dir=export_dir,
        clock=lambda: T0,
        operator="alice",  # not the login name: the same on every machine
    )


@pytest.fixture
def make_app(api: FakeApiServer, tmp_path: Path) -> Callable[..., VoltyardApp]:
    def make(token: str = OPERATOR, *, read_only: bool = False) -> VoltyardApp:
        return build_app(api.url, tmp_path, token, read_only=read_only)

    return make


async def until(app: VoltyardApp, condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait until `condition()` holds, re-checking on each state change the app publishes."""
    if condition():
        return
    met = asyncio.Event()

    def check(_: object) -> None:
        if condition():
            met.set()

    app.changes.subscribe(app, check, immediate=True)
    try:
        if not condition():
            await asyncio.wait_for(met.wait(), timeout)
    finally:
        app.changes.unsubscribe(app)


async def requested(fake: FakeApi, method: str, path: str, count: int = 1, timeout: float = WAIT) -> None:
    """Until the fake has received `count` such requests (it notifies on each one it receives)."""
    try:
        await asyncio.wait_for(fake.wait_requests(method, path, count), timeout)
    except TimeoutError:
        raise TimeoutError(f"{method} {path} was not requested {count} time(s)") from None


async def frame_seen(app: VoltyardApp, condition: Callable[[Event], bool], timeout: float = WAIT) -> Event:
    """The next live frame (MessageIn/MessageOut event) that satisfies `condition`."""
    seen: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

    def check(event: Event) -> None:
        if condition(event) and not seen.done():
            seen.set_result(event)

    app.messages.subscribe(app, check, immediate=True)
    try:
        return await asyncio.wait_for(seen, timeout)
    finally:
        app.messages.unsubscribe(app)


async def loaded(app: VoltyardApp) -> None:
    """Until the first snapshot (chargers, sessions, health) is in."""
    await until(app, lambda: bool(app.state.chargers) and app.state.health is not None)


async def workers_done(app: VoltyardApp, groups: Iterable[str]) -> None:
    """Until every worker of these groups has finished (the streams' group never does: do not pass it)."""
    wanted = set(groups)
    for worker in [w for w in app.workers if w.group in wanted]:
        with contextlib.suppress(WorkerCancelled):  # an exclusive worker replaced by a newer one
            await asyncio.wait_for(worker.wait(), WAIT)
