"""The message log through the control API: every row exported, truncation said, cursors, ISO times, and an
export that runs beside the chargers instead of stopping them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from pathlib import Path

import aiohttp
import pytest
from ocpp.v16 import call
from voltyard.api.app import create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.store.db import DB_FILENAME
from voltyard.store.message_log import MessageLog
from voltyard.store.writer import StoreWriter

from tests.e2e.peer import connected_peer
from tests.server_process import ServerProcess

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEARTBEAT = b'[2,"%d","Heartbeat",{}]'
ANSWER = b'[3,"%d",{"currentTime":"2026-12-06T23:52:41.123Z"}]'
START = 1_796_000_000.0  # 2026-11-30T...: the rows' times, a millisecond apart


async def fill(
    log: MessageLog, store: StoreWriter, rows: int, *, chargers: int = 20, out_every: int = 0
) -> None:
    """`rows` exchanges written through the store's own writer, in its block format: charger CALLs
    answered, and with `out_every` every so many a CSMS call instead; message ids are the row numbers."""
    for n in range(rows):
        charger = f"CP-{n % chargers:03d}"
        if out_every and n % out_every == 0:
            log.exchange(charger, "out", START + n / 1000, b'[2,"%d","ClearCache",{}]' % n, 2, str(n),
                         "ClearCache", b'[3,"%d",{"status":"Accepted"}]' % n, 3)  # fmt: skip
        else:
            log.answered(charger, START + n / 1000, HEARTBEAT % n, str(n), "Heartbeat", ANSWER % n)
        if n % 5000 == 4999:
            await store.flush()  # blocks of a commit interval each, as a running appliance writes them
    await store.flush()


@pytest.fixture
async def api(appliance, aiohttp_client):
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.reader = {"Authorization": f"Bearer {tokens['readonly']}"}
    return client


async def filled(appliance, rows: int, **kwargs: int) -> None:
    log = MessageLog(appliance.store, max_rows=10**9, max_age_days=3650)
    await fill(log, appliance.store, rows, **kwargs)


async def test_an_export_without_limit_has_every_row(api, appliance) -> None:
    await filled(appliance, 12_345)
    answer = await api.get("/api/v1/messages/export?format=json", headers=api.reader)
    assert answer.status == 200
    document = json.loads(await answer.read())
    assert len(document["items"]) == 12_345
    assert answer.headers["X-Voltyard-Truncated"] == "false"
    assert {int(item["message_id"]) for item in document["items"]} == set(range(12_345))
    assert (document["truncated"], document["next"]) == (False, None)
    answer = await api.get("/api/v1/messages/export?format=csv", headers=api.reader)
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert len(rows) == 12_345
    assert int(rows[0]["message_id"]) > 12_300  # newest first (by commit: chargers of one interleave)
    assert rows[0]["frame"] == f'[2,"{rows[0]["message_id"]}","Heartbeat",{{}}]'


async def test_a_limited_export_says_it_is_cut_and_where_to_go_on(api, appliance) -> None:
    await filled(appliance, 7_000)
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        answer = await api.get(f"/api/v1/messages/export?format=csv&limit=3000{cursor}", headers=api.reader)
        rows = list(csv.DictReader(io.StringIO(await answer.text())))
        seen += [row["message_id"] for row in rows]
        if answer.headers["X-Voltyard-Truncated"] == "false":
            assert "X-Voltyard-Next-Cursor" not in answer.headers
            break
        assert len(rows) == 3000
        cursor = f"&cursor={answer.headers['X-Voltyard-Next-Cursor']}"
    assert len(seen) == 7_000
    assert sorted(map(int, seen)) == list(range(7_000))
    document = json.loads(
        await (await api.get("/api/v1/messages/export?limit=6999", headers=api.reader)).read()
    )
    assert len(document["items"]) == 6999
    assert document["truncated"] is True
    last = await api.get(f"/api/v1/messages/export?cursor={document['next']}", headers=api.reader)
    assert [item["message_id"] for item in json.loads(await last.read())["items"]] == ["0"]
    exact = await api.get("/api/v1/messages/export?limit=7000", headers=api.reader)
    assert exact.headers["X-Voltyard-Truncated"] == "false"
    assert json.loads(await exact.read())["truncated"] is False


async def test_the_list_pages_with_a_next_cursor(api, appliance) -> None:
    await filled(appliance, 1_050, out_every=7)
    ids: list[str] = []
    query = "direction=in&limit=100"
    while True:
        page = await (await api.get(f"/api/v1/messages?{query}", headers=api.reader)).json()
        ids += [item["message_id"] for item in page["items"]]
        assert all(item["direction"] == "in" for item in page["items"])
        if page["next"] is None:
            break
        assert len(page["items"]) == 100
        query = f"direction=in&limit=100&cursor={page['next']}"
    assert sorted(map(int, ids)) == [n for n in range(1_050) if n % 7]
    bad = await api.get("/api/v1/messages?cursor=yesterday", headers=api.reader)
    assert bad.status == 400
    assert "cursor" in (await bad.json())["error"]["message"]


async def test_times_are_iso_in_and_out(api, appliance) -> None:
    await filled(appliance, 3_000)
    items = (await (await api.get("/api/v1/messages?limit=5000", headers=api.reader)).json())["items"]
    assert all(ISO.match(item["time"]) and ISO.match(item["reply_time"]) for item in items)
    newest = items[0]
    assert newest["message_id"] == "2999"
    assert newest["time"] == "2026-11-30T00:53:22.999Z"  # START + 2.999 s
    window = "since=2026-11-30T00:53:21.000Z&until=2026-11-30T00:53:21.499Z"
    found = (await (await api.get(f"/api/v1/messages?{window}&limit=5000", headers=api.reader)).json())[
        "items"
    ]
    assert sorted(int(item["message_id"]) for item in found) == list(range(1000, 1500))
    # An offset is a zone too.
    offset = "since=2026-11-30T01:53:22.990%2B01:00"
    found = (await (await api.get(f"/api/v1/messages?{offset}", headers=api.reader)).json())["items"]
    assert [item["message_id"] for item in found] == [str(n) for n in range(2999, 2989, -1)]
    rows = list(csv.DictReader(io.StringIO(await (await api.get(
        f"/api/v1/messages/export?format=csv&{window}", headers=api.reader)).text())))  # fmt: skip
    assert len(rows) == 500
    assert ISO.match(rows[0]["time"])
    for value in ("1796000000", "yesterday", "2026-11-30T01:33:21"):
        for route in ("/api/v1/messages", "/api/v1/messages/export"):
            answer = await api.get(f"{route}?since={value}", headers=api.reader)
            assert answer.status == 400, value
            message = (await answer.json())["error"]["message"]
            assert message.startswith("since:")
            assert value in message


async def test_an_export_does_not_hold_up_the_chargers(tmp_path: Path) -> None:
    """While the appliance reads a large log for an export, a charger's Heartbeat is answered."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    store = StoreWriter(data_dir / DB_FILENAME)
    await store.start()
    try:
        # One row in a thousand matches: the appliance reads (decompresses, filters) the whole log and
        # writes almost nothing, which is what used to stop its event loop for the length of the read.
        await fill(MessageLog(store, max_rows=10**9, max_age_days=3650), store, 150_000, out_every=1000)
    finally:
        await store.close()
    server = ServerProcess(data_dir)
    await server.start()
    token = (data_dir / "api-token-readonly").read_text().strip()
    url = f"http://127.0.0.1:{server.api_port}/api/v1/messages/export?format=csv&direction=out"
    try:
        # The export streams: its headers arrive once its read of the log is under way, and the body while
        # it goes on (a fixed sleep here raced a read that got faster).
        async with (
            connected_peer(server.port, "CP-LIVE") as peer,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=120)) as answer,
        ):
            assert answer.status == 200
            download = asyncio.create_task(answer.text())
            answered_during = []
            while not download.done():
                await asyncio.wait_for(peer.call(call.Heartbeat()), 60)
                answered_during.append(not download.done())
            rows = list(csv.DictReader(io.StringIO(await download)))
    finally:
        assert await server.stop() == 0
    assert len(rows) == 150
    assert any(answered_during), "no Heartbeat was answered while the export ran"


async def test_a_download_closed_halfway_ends_the_export_quietly(api, appliance, caplog) -> None:
    """A client that stops reading and closes is no error of the appliance's: nothing logged as a failure
    (the handler is cancelled, or its next write finds the connection gone), and exports go on working."""
    await filled(appliance, 20_000)
    answer = await api.get("/api/v1/messages/export?format=csv", headers=api.reader)
    assert (await answer.content.readline()).startswith(b"time,charger_id,")
    answer.close()  # the client goes away with most of the file unsent
    await asyncio.sleep(0.5)
    after = await api.get("/api/v1/messages/export?format=json&limit=5", headers=api.reader)
    assert len(json.loads(await after.read())["items"]) == 5
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
