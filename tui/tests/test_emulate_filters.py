"""The emulator's frame filter on rows, and its fault codes against the simulator's."""

from __future__ import annotations

from pathlib import Path

from voltyard.sim.scenario_file import ERROR_CODES

from voltyard_tui.emulate.app import EmulatorApp, frame_row
from voltyard_tui.emulate.faults import DEFAULT_CODE, FAULT_CODES
from voltyard_tui.emulate.frames import FilterScreen, FrameFilter


def entry(direction: str, kind: str, action: str, frame: str) -> dict[str, object]:
    return {
        "time": "2026-12-07T10:00:00Z",
        "charger": "EMU00000",
        "direction": direction,
        "type": kind,
        "message_id": "m1",
        "action": action,
        "frame": frame,
    }


ROWS = [
    frame_row(entry("sent", "CALL", "Authorize", '[2,"m1","Authorize",{"idTag":"TAG-7"}]')),
    frame_row(entry("received", "CALLRESULT", "Authorize", '[3,"m1",{"idTagInfo":{"status":"Accepted"}}]')),
    frame_row(entry("received", "CALL", "Reset", '[2,"c1","Reset",{"type":"Soft"}]')),
    frame_row(entry("sent", "CALLERROR", "Reset", '[4,"c1","NotSupported","",{}]')),
]


def kept(wanted: FrameFilter) -> list[int]:
    return [i for i, row in enumerate(ROWS) if wanted(row)]


def test_each_filter_narrows_and_the_empty_one_keeps_all() -> None:
    assert not FrameFilter()
    assert kept(FrameFilter()) == [0, 1, 2, 3]
    assert kept(FrameFilter(direction="out")) == [0, 3]
    assert kept(FrameFilter(direction="in")) == [1, 2]
    assert kept(FrameFilter(message_type="CALL")) == [0, 2]
    assert kept(FrameFilter(message_type="RESULT")) == [1]
    assert kept(FrameFilter(message_type="ERROR")) == [3]
    assert kept(FrameFilter(action="reset")) == [2, 3]
    assert kept(FrameFilter(search="tag-7")) == [0]
    assert kept(FrameFilter(direction="in", action="Authorize")) == [1]


def test_describe_names_what_is_active() -> None:
    described = FrameFilter("in", "ERROR", "Reset", "x").describe()
    assert described == "dir in, type CALLERROR, action ~Reset, search 'x'"


def test_fault_codes_are_the_simulators() -> None:
    assert set(FAULT_CODES) == ERROR_CODES
    assert DEFAULT_CODE in FAULT_CODES


async def test_the_palette_offers_the_frame_filter(tmp_path: Path) -> None:
    """ctrl+p, "Filter": the filter box; what it sets is the pane's filter (no simulator needed:
    the filter box does not ask it for anything but the action hints)."""
    app = EmulatorApp(tmp_path / "nobody.sock", poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Filter")
        await pilot.press("enter")
        for _ in range(50):
            if isinstance(app.screen, FilterScreen):
                break
            await pilot.pause(0.1)
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"TAG-7")  # the search box has the focus
        await pilot.press("enter")
        await pilot.pause()
        assert app.frame_filter == FrameFilter(search="TAG-7")
        await pilot.press("x")
        assert app.frame_filter == FrameFilter()
