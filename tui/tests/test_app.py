"""Tests for the Voltyard console app and its command line, driven through Textual's Pilot."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer, Header, Static

import voltyard_tui
from voltyard_tui.app import DEFAULT_API_URL, VoltyardApp, main

Autopilot = Callable[[Pilot[object]], Coroutine[Any, Any, None]]
"""An auto-pilot coroutine function for ``App.run``."""


def _text(widget: Static) -> str:
    """Return the plain text a Static widget currently renders."""
    return str(widget.render())


def test_app_starts_with_title_and_placeholder() -> None:
    """The app mounts a header with the title, the not-connected notice and the default API URL."""

    async def scenario() -> None:
        app = VoltyardApp()
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.is_running
            header = app.query_one(Header)
            title = header.query_one("HeaderTitle", Static)
            assert "Voltyard" in _text(title)
            assert app.query_one(Footer).display
            assert "not connected" in _text(app.query_one("#status-message", Static)).lower()
            assert _text(app.query_one("#status-api-url", Static)) == "http://127.0.0.1:8180/api/v1"

    asyncio.run(scenario())


def test_app_shows_custom_api_url() -> None:
    """A custom base URL (trailing slash stripped) is shown with the API path appended."""

    async def scenario() -> None:
        app = VoltyardApp(api_url="https://cs.example.test:9000/")
        async with app.run_test() as pilot:
            await pilot.pause()
            url = app.query_one("#status-api-url", Static)
            assert _text(url) == "https://cs.example.test:9000/api/v1"
            assert url.region.width > 0 and url.region.height > 0

    asyncio.run(scenario())


def test_footer_lists_quit_binding() -> None:
    """The q binding is active and described as Quit, so the footer can show it."""

    async def scenario() -> None:
        app = VoltyardApp()
        async with app.run_test() as pilot:
            await pilot.pause()
            active = app.active_bindings
            assert "q" in active
            assert active["q"].binding.description == "Quit"
            assert active["q"].binding.show

    asyncio.run(scenario())


def test_pressing_q_exits_with_return_code_zero() -> None:
    """Pressing q quits the app cleanly."""

    async def scenario() -> None:
        app = VoltyardApp()
        async with app.run_test() as pilot:
            assert app.return_code is None
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
        assert app.return_code == 0

    asyncio.run(scenario())


def test_version_matches_distribution_metadata() -> None:
    """The package version comes from the installed distribution's metadata."""
    assert voltyard_tui.__version__ == importlib.metadata.version("voltyard-tui")


def test_main_version_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the program name and version, then exits with status 0."""
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"voltyard-tui {voltyard_tui.__version__}"


def test_main_bad_flag_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag makes argparse exit with status 2 and an error message on stderr."""
    with pytest.raises(SystemExit) as excinfo:
        main(["--no-such-flag"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-flag" in err
    assert err.startswith("usage: voltyard-tui")


def _run_headless(monkeypatch: pytest.MonkeyPatch, autopilot: Autopilot, seen: list[str]) -> None:
    """Make ``VoltyardApp.run`` run headless under ``autopilot``, recording the app's API URL."""
    real_run = VoltyardApp.run

    def headless_run(self: VoltyardApp) -> None:
        seen.append(self.api_url)
        real_run(self, headless=True, size=(80, 24), auto_pilot=autopilot)

    monkeypatch.setattr(VoltyardApp, "run", headless_run)


@pytest.mark.parametrize(
    ("argv", "expected_url"),
    [([], DEFAULT_API_URL), (["--api-url", "http://10.0.0.5:8180"], "http://10.0.0.5:8180")],
)
def test_main_runs_app_with_api_url_and_q_returns_zero(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected_url: str
) -> None:
    """``main`` runs the app with the parsed URL; quitting with q makes it return 0."""
    shown: list[str] = []

    async def press_q(pilot: Pilot[object]) -> None:
        await pilot.pause()
        shown.append(_text(pilot.app.query_one("#status-api-url", Static)))
        await pilot.press("q")
        await pilot.pause()
        if pilot.app.is_running:  # q did not quit: end the run with a code the test will reject
            pilot.app.exit(return_code=99)

    seen: list[str] = []
    _run_headless(monkeypatch, press_q, seen)
    assert main(argv) == 0
    assert seen == [expected_url]
    assert shown == [f"{expected_url}/api/v1"]


def test_main_returns_the_app_return_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` returns whatever return code the app exited with."""

    async def exit_with_3(pilot: Pilot[object]) -> None:
        await pilot.pause()
        pilot.app.exit(return_code=3)

    seen: list[str] = []
    _run_headless(monkeypatch, exit_with_3, seen)
    assert main([]) == 3
    assert seen == [DEFAULT_API_URL]
