"""The console shows the uplink's state (issue 24), against real appliances.

Two `voltyard serve` (the installed entry point, each with its own data dir): an upstream, and a site whose
`[uplink] url` points at it; simulated chargers (`voltyard sim run`) charge at the site; the console
(`voltyard_tui`) is driven by Pilot against the site's real control API with the operator token from its
data dir. The operator watches the dashboard while the upstream is there (online, queue 0), gone (offline,
the queue of a running session growing) and back (online, queue 0 again), and the charger screen shows the
charge point's own link. Waits poll the real system (generous hang guards, never a timed assertion).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.journeys.appliance import RunningAppliance, voltyard_bin

textual = pytest.importorskip("textual", reason="the console (pip install ./tui) is not installed")

from textual.widgets import Static  # noqa: E402 - after the skip: only with the console installed
from voltyard_tui.app import VoltyardApp  # noqa: E402
from voltyard_tui.client import ApiClient  # noqa: E402
from voltyard_tui.screens.charger_detail import ChargerDetailScreen  # noqa: E402
from voltyard_tui.widgets.event_log import EventLog  # noqa: E402
from voltyard_tui.widgets.uplink import UplinkLine  # noqa: E402

SIZE = (80, 30)  # the narrowest terminal the console is made for: the line must still say what matters
_UPSTREAM = '[ocpp]\nunknown_id_tag = "accept"\n'


def _site_config(upstream_port: int) -> str:
    # Quick reconnects and a reading upstream every second, so that the journey sees each change soon.
    return f"""
[ocpp]
unknown_id_tag = "accept"

[uplink]
url = "ws://127.0.0.1:{upstream_port}/ocpp"
meter_interval = 1.0
backoff_min = 0.2
backoff_max = 1.0
call_timeout = 5.0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flags(data_dir: Path, port: int = 0) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--api-port", "0", "--data-dir", str(data_dir)]


def _sim(site: RunningAppliance, tmp_path: Path, duration: int, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(voltyard_bin()), "sim", "run", "--url", site.ocpp_url, "--chargers", "2", "--scenario",
            "basic_charge", "--duration", str(duration), "--sample-interval", "1", "--progress", "off",
            "--no-plot", "--id-prefix", prefix, "--control-socket", str(tmp_path / f"{prefix}.sock"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _finish(sim: subprocess.Popen[str], timeout: float = 120) -> str:
    try:
        out, _ = sim.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        sim.kill()
        out, _ = sim.communicate(timeout=10)
        raise AssertionError(f"voltyard sim did not end:\n{out}") from None
    return out


async def settle(pilot: Any, condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Until `condition()` gives something truthy (the console and the appliances are real: poll)."""
    for _ in range(int(timeout / 0.1)):
        await pilot.pause()
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _line(app: VoltyardApp) -> str:
    """The dashboard's uplink line as the terminal shows it ("" while it is hidden)."""
    line = app.screen.query_one(UplinkLine)
    return line.render_line(0).text if line.display else ""


def _queued(shown: str) -> int | None:
    """The queue length the dashboard shows."""
    _, found, rest = shown.partition(" · queued ")
    return int(rest.split()[0]) if found else None


@pytest.mark.slow
@pytest.mark.timeout(300)  # two fleet runs and an upstream that goes away and comes back, in real time
async def test_the_dashboard_follows_the_uplink_online_offline_and_back(tmp_path: Path) -> None:
    port = _free_port()  # the upstream comes back on the same port, as a central system does
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start(_UPSTREAM, _flags(upstream.data_dir, port))
    sims: list[subprocess.Popen[str]] = []
    try:
        site.start(_site_config(port), _flags(site.data_dir))
        app = VoltyardApp(ApiClient(site.api_url, site.token()), operator="olga")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: app.connected and app.state.health is not None, "the console")

            # Two simulated chargers charge at the site; everything they did goes upstream.
            sims.append(_sim(site, tmp_path, 12, "UPA"))
            out = await asyncio.to_thread(_finish, sims[-1])
            assert "PASS sessions_complete" in out, out
            shown = await settle(
                pilot,
                lambda: _line(app).startswith("Uplink online · queued 0 · last sync ") and _line(app),
                "the dashboard to show the uplink online with nothing queued",
            )
            assert f"ws://127.0.0.1:{port}/ocpp"[:20] in shown, shown  # the URL, cut at 80 columns
            assert "last sync never" not in shown, shown
            assert " ago · " in shown, shown  # the last sync as an age
            uplink = (await asyncio.to_thread(site.api, "GET", "/health")).json["uplink"]
            assert (uplink["state"], uplink["queued"]) == ("online", 0), uplink
            assert {"UPA00000", "UPA00001"} <= set(uplink["charge_points"]), uplink

            # The upstream goes away: the console says offline, in red, and each link's change is logged.
            assert await asyncio.to_thread(upstream.stop) == 0
            offline = "Uplink offline · queued "
            await settle(pilot, lambda: _line(app).startswith(offline), "the uplink offline")
            log = app.screen.query_one(EventLog)
            await settle(
                pilot,
                lambda: any("UplinkStateChanged" in s.text and "uplink offline" in s.text for s in log.lines),
                "UplinkStateChanged (offline) in the dashboard's event log",
            )
            # A session runs meanwhile: what must reach the upstream is queued, and the console counts it.
            sims.append(_sim(site, tmp_path, 25, "UPB"))
            before = _queued(_line(app)) or 0
            await settle(
                pilot,
                lambda: (_queued(_line(app)) or 0) >= before + 3,
                f"the queue shown to grow past {before}",
            )
            assert _line(app).startswith("Uplink offline"), _line(app)

            # The upstream comes back: online, and the queue is sent until nothing waits.
            upstream = RunningAppliance(tmp_path / "upstream" / "data")
            await asyncio.to_thread(upstream.start, _UPSTREAM, _flags(upstream.data_dir, port))
            out = await asyncio.to_thread(_finish, sims[-1])
            assert "PASS sessions_complete" in out, out
            await settle(
                pilot,
                lambda: _line(app).startswith("Uplink online · queued 0 · last sync "),
                "the uplink online again with nothing queued",
                timeout=90,
            )
            await settle(
                pilot,
                lambda: any("UplinkStateChanged" in s.text and "uplink online" in s.text for s in log.lines),
                "UplinkStateChanged (online) in the dashboard's event log",
            )

            # The charger screen shows the charge point's own link.
            await pilot.press("c")
            await pilot.pause()
            app.push_screen(ChargerDetailScreen("UPB00000"))
            screen = await settle(
                pilot, lambda: isinstance(app.screen, ChargerDetailScreen) and app.screen, "its screen"
            )
            summary = screen.query_one("#summary", Static)
            await settle(
                pilot,
                lambda: "uplink online · queued 0 · last sync " in str(summary.render()),
                "UPB00000's uplink online on its screen",
            )
    finally:
        for sim in sims:
            if sim.poll() is None:
                sim.kill()
                sim.communicate(timeout=10)
        assert site.stop() == 0
        upstream.stop()
