"""The console on the demo (issue 15, Done-when 1): `voltyard demo --no-tui` runs the real appliance, and the
operator console (voltyard_tui's VoltyardApp, driven by Pilot as tui/tests/test_live.py does) pointed at its
control API shows active sessions and delivered power on the dashboard."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from pathlib import Path

from textual.widgets import DataTable, Static
from voltyard_tui.app import VoltyardApp
from voltyard_tui.client import ApiClient, Backoff

from tests.journeys.appliance import voltyard_bin

BANNER = re.compile(r"voltyard demo: control API (http://\S+)/api/v1 \(operator token in (\S+)\)")


async def test_dashboard_shows_the_demo_charging(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(voltyard_bin()), "demo", "--no-tui", "--duration", "75", "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    err: list[str] = []
    found: list[re.Match[str]] = []
    banner = threading.Event()

    def read_err() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            err.append(line)
            if (match := BANNER.search(line)) and not banner.is_set():
                found.append(match)
                banner.set()

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    try:
        assert await asyncio.to_thread(banner.wait, 45), "".join(err)
        url, token = found[0].group(1), Path(found[0].group(2)).read_text().strip()
        app = VoltyardApp(
            ApiClient(url, token), poll_interval=1.0, backoff=Backoff(base=0.1, cap=0.5), export_dir=tmp_path
        )
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(120):  # a hang guard: the demo's sessions start within seconds
                await pilot.pause(0.5)
                state = app.state
                cabinet = [t for t in state.active_sessions if t.charger_id == "CABINET"]
                site = state.site
                flowing = site is not None and min(site.cabinet_kw, site.chargers_kw) > 0
                if len(state.active_sessions) >= 5 and cabinet and flowing:
                    break
            else:
                raise AssertionError(f"the dashboard never showed the demo charging:\n{''.join(err)}")
            table = app.screen.query_one("#sessions", DataTable)
            assert table.row_count == len(app.state.active_sessions) >= 5
            assert "CABINET" in {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
            gauge = str(app.screen.query_one("#power-gauge", Static).render())
            assert "/ 300.0 kW" in gauge, gauge  # the site limit the demo set, on the power bar
            split = str(app.screen.query_one("#power-split", Static).render())
            chargers_kw, cabinet_kw = (float(x) for x in re.findall(r"([\d.]+) kW", split))
            assert chargers_kw > 0, split
            assert cabinet_kw > 0, split
    finally:
        process.terminate()
        process.wait(30)
        reader.join(10)
        assert process.stderr is not None
        process.stderr.close()
