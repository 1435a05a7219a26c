"""Snapshot tests (pytest-textual-snapshot) of the main screens at 120x40 with the fake API's fixed site.

Baselines live in tests/__snapshots__/; after a deliberate change of the look, review the diff report
and accept with `pytest tui/tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import build_app
from fake_api import FakeApi, ThreadedFakeApi
from scenes import SCENES

SIZE = (120, 40)


@pytest.fixture
def site_api() -> Iterator[ThreadedFakeApi]:
    # snap_compare runs the app on an event loop of its own: the fake API gets a thread and loop of its own.
    with ThreadedFakeApi(FakeApi.with_site()) as api:
        yield api


def compare(snap_compare, api: ThreadedFakeApi, tmp_path: Path, scene: str) -> bool:
    return snap_compare(build_app(api.url, tmp_path), terminal_size=SIZE, run_before=SCENES[scene])


def test_dashboard(snap_compare, site_api, tmp_path):
    """Site power with its sparkline, counts, active sessions and the event log."""
    assert compare(snap_compare, site_api, tmp_path, "dashboard")


def test_chargers(snap_compare, site_api, tmp_path):
    """The chargers table, every charger."""
    assert compare(snap_compare, site_api, tmp_path, "chargers")


def test_chargers_filtered(snap_compare, site_api, tmp_path):
    """The chargers table filtered to faulted SIM chargers as typed."""
    assert compare(snap_compare, site_api, tmp_path, "chargers-filtered")


def test_charger_detail(snap_compare, site_api, tmp_path):
    """One charger: summary, connectors, and its tabs."""
    assert compare(snap_compare, site_api, tmp_path, "charger-detail")


def test_command_form_answered(snap_compare, site_api, tmp_path):
    """RemoteStartTransaction sent from the form, with the charger's answer."""
    assert compare(snap_compare, site_api, tmp_path, "command-form")


def test_command_form_refused(snap_compare, site_api, tmp_path):
    """The same form refusing bad input before sending, one reason per field."""
    assert compare(snap_compare, site_api, tmp_path, "command-refused")


def test_cabinet(snap_compare, site_api, tmp_path):
    """The ring: slots, modules (one hot, one tripped), contactors, islands per gun; the gun cards."""
    assert compare(snap_compare, site_api, tmp_path, "cabinet")


def test_inspector(snap_compare, site_api, tmp_path):
    """The message inspector over the logged exchanges, the newest highlighted."""
    assert compare(snap_compare, site_api, tmp_path, "inspector")


def test_crafter(snap_compare, site_api, tmp_path):
    """The raw crafter after sending a DataTransfer, with the answer."""
    assert compare(snap_compare, site_api, tmp_path, "crafter")


def test_events(snap_compare, site_api, tmp_path):
    """The events and alerts log."""
    assert compare(snap_compare, site_api, tmp_path, "events")


def test_history(snap_compare, site_api, tmp_path):
    """Transaction history: energy, duration, stop reason; the open ones charging."""
    assert compare(snap_compare, site_api, tmp_path, "history")


def test_tags(snap_compare, site_api, tmp_path):
    """The id tags with status, expiry and parent."""
    assert compare(snap_compare, site_api, tmp_path, "tags")


def test_alerts(snap_compare, site_api, tmp_path):
    """The open alerts, to acknowledge."""
    assert compare(snap_compare, site_api, tmp_path, "alerts")


def test_site_limit(snap_compare, site_api, tmp_path):
    """The site limit form asking for confirmation."""
    assert compare(snap_compare, site_api, tmp_path, "site-limit")
