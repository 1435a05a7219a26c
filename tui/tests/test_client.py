"""The API client against the fake API on a real socket: typed answers, typed errors, the stream."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fake_api import OPERATOR, READONLY, FakeApi, FakeApiServer

from voltyard_tui.client import ApiClient, ApiError, ApiUnreachableError, Backoff, follow_stream
from voltyard_tui.messages import StreamConnected, StreamEventReceived, StreamLost


@pytest.fixture
async def client(api: FakeApiServer):
    c = ApiClient(api.url, OPERATOR)
    yield c
    await c.close()


async def test_typed_reads(client: ApiClient, fake: FakeApi):
    health = await client.health()
    assert (health.known, health.online, health.faulted, health.active_transactions) == (6, 5, 1, 2)
    chargers, total = await client.chargers(q="alp")
    assert [c.id for c in chargers] == ["SIM00005"]
    assert total == 1
    detail = await client.charger("SIM00001")
    assert detail.active_transactions[0].id_tag == "TAG-ALICE"
    assert detail.configuration[2].readonly
    messages = await client.messages(charger_id="SIM00001", direction="out")
    assert [m.message_id for m in messages] == ["cs-4", "cs-3"]  # newest first
    events, after = await client.events(after=3)
    assert ([e.seq for e in events], after) == ([4, 5], 5)
    cabinet = await client.cabinet()
    assert cabinet.configured
    assert [g.island for g in cabinet.plan or ()] == [(0, 1), (2,), (3, 4)]
    assert fake.requests[-1].path == "/api/v1/cabinet"


async def test_all_chargers_pages_through(client: ApiClient, fake: FakeApi):
    fake.chargers = fake.chargers * 400  # 2400 rows: three pages of at most 1000
    chargers = await client.all_chargers()
    assert len(chargers) == 2400
    assert [r.query["offset"] for r in fake.calls("GET", "/api/v1/chargers")] == ["0", "1000", "2000"]


async def test_error_bodies_become_api_errors(client: ApiClient, fake: FakeApi):
    with pytest.raises(ApiError) as caught:
        await client.charger("NOPE")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        404,
        "not_found",
        "no charger 'NOPE'",
    )
    fake.fail_next(504, "timeout", "SIM00001 did not answer within 30 s")
    with pytest.raises(ApiError) as caught:
        await client.command("SIM00001", "ClearCache", {})
    assert str(caught.value) == "504 timeout: SIM00001 did not answer within 30 s"
    with pytest.raises(ApiError) as caught:
        await client.request("PUT", "/site", body={"limit_kw": "x"})
    assert caught.value.status == 422
    assert caught.value.message == "limit_kw: expected a number, got 'x'"


async def test_read_only_token_is_refused_on_writes(api: FakeApiServer):
    client = ApiClient(api.url, READONLY)
    try:
        assert (await client.site()).limit_kw == 250.0
        with pytest.raises(ApiError) as caught:
            await client.set_site_limit(100.0, "alice")
        assert (caught.value.status, caught.value.code) == (403, "forbidden")
    finally:
        await client.close()


async def test_commands_and_raw_send_the_documented_bodies(client: ApiClient, fake: FakeApi):
    fake.answers["GetLocalListVersion"] = {"listVersion": 3}
    assert await client.command("SIM00001", "GetLocalListVersion", {}, timeout=5) == {"listVersion": 3}
    call = fake.calls("POST", "/api/v1/chargers/SIM00001/commands/GetLocalListVersion")[0]
    assert (call.body, call.query) == ({}, {"timeout": "5"})
    await client.raw("SIM00002", "Heartbeat", {"odd": True}, validate=False)
    raw = fake.calls("POST", "/api/v1/chargers/SIM00002/raw")[0]
    assert raw.body == {"action": "Heartbeat", "payload": {"odd": True}, "validate": False}


async def test_export_keeps_only_a_base_name(client: ApiClient):
    export = await client.export_messages("csv", charger_id="SIM00003")
    assert export.filename == "voltyard-messages.csv"
    assert export.content.decode().splitlines()[1].startswith("SIM00003,in,")


async def test_unreachable_api_is_its_own_error():
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ApiClient(f"http://127.0.0.1:{port}", OPERATOR)
    try:
        with pytest.raises(ApiUnreachableError):
            await client.health()
    finally:
        await client.close()


async def test_stream_decodes_msgpack_and_applies_filters(client: ApiClient, fake: FakeApi):
    async with client.stream() as events, client.stream(kinds=("MessageIn",)) as frames:
        await fake.wait_stream()
        await fake.wait_stream(frozenset({"MessageIn"}))
        assert await fake.push("MessageIn", "SIM00001", {"action": "Heartbeat"}) == 1
        assert await fake.push("ChargerConnected", "SIM00001", {"source": "x"}) == 1
        first = await anext(aiter(events))
        assert (first.kind, first.charger_id, first.data, first.seq) == (
            "ChargerConnected",
            "SIM00001",
            {"source": "x"},
            None,
        )
        frame = await anext(aiter(frames))
        assert frame.data == {"action": "Heartbeat"}


async def test_follow_stream_reports_loss_and_comes_back(api: FakeApiServer, fake: FakeApi):
    client = ApiClient(api.url, OPERATOR)
    posted: asyncio.Queue = asyncio.Queue()
    snapshots = 0

    async def on_connect() -> None:
        nonlocal snapshots
        snapshots += 1

    task = asyncio.ensure_future(
        follow_stream(client, posted.put_nowait, on_connect=on_connect, backoff=Backoff(base=0.01, cap=0.05))
    )
    try:
        assert isinstance(await posted.get(), StreamConnected)
        await fake.wait_stream()
        await fake.push("Alert", None, {"kind": "x"})
        received = await posted.get()
        assert isinstance(received, StreamEventReceived)
        assert received.event.kind == "Alert"
        await api.stop()
        lost = await posted.get()
        assert isinstance(lost, StreamLost)
        assert lost.attempt == 1
        await api.start()
        while isinstance(message := await posted.get(), StreamLost):
            assert message.retry_in <= 0.05
        assert isinstance(message, StreamConnected)
        assert snapshots == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


def test_backoff_doubles_up_to_its_cap():
    assert [Backoff(0.5, 4.0).delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_ids_are_quoted_as_one_path_segment(client: ApiClient, fake: FakeApi):
    # Issue 17: an id tag holding "/" or "?" once addressed another route; each id is now one segment.
    for id_tag in ("T/1", "T?x=1", "T#2", "T%41"):
        tag = await client.put_id_tag(
            id_tag, status="Accepted", expiry_date=None, parent_id_tag=None, operator="ops"
        )
        assert tag.id_tag == id_tag
    assert {"T/1", "T?x=1", "T#2", "T%41"} <= {t.id_tag for t in await client.id_tags()}
    await client.delete_id_tag("T/1", operator="ops")
    assert "T/1" not in {t.id_tag for t in await client.id_tags()}
    with pytest.raises(ApiError) as caught:
        await client.charger("NOPE/registration")
    assert caught.value.message == "no charger 'NOPE/registration'"  # the charger route, not another one
