"""The event log's SQL (voltyard.store.event_log) against a real SQLite file: categories, cursors, alerts."""

from __future__ import annotations

import orjson
import pytest
from voltyard.events.bus import CATEGORY_CASE
from voltyard.events.kinds import CATEGORIES, KIND_CATEGORIES, category_of
from voltyard.store import event_log
from voltyard.store.connection import Connection


@pytest.fixture
def db(store_db: Connection) -> Connection:
    """A migrated store of each backend (tests/conftest.py `store_db`)."""
    return store_db


def _add(db: Connection, kind: str, data: dict[str, object], charger: str | None = "CP1") -> None:
    event_log.insert(db, (1.0, kind, charger, orjson.dumps(data).decode()))


def test_the_sql_category_filter_agrees_with_category_of_for_every_kind(db: Connection) -> None:
    cases = [(kind, {}) for kind in KIND_CATEGORIES] + [("ChargerBooted", {})]
    cases += [(kind, {"origin": origin}) for kind in ("CommandSent", "CommandAnswered")
              for origin in ("power", "health", "operator", None, 5)]  # fmt: skip
    for kind, data in cases:
        _add(db, kind, data)
    logged = event_log.events_after(db, CATEGORY_CASE, 0, 1000)
    for category in CATEGORIES:
        in_sql = {e.seq for e in event_log.events_after(db, CATEGORY_CASE, 0, 1000, [category])}
        in_python = {e.seq for e in logged if category_of(e.kind, e.data) == category}
        assert in_sql == in_python, f"category {category}: SQL filter and events.category_of disagree"


def test_events_after_and_latest_page_by_seq(db: Connection) -> None:
    for n in range(10):
        _add(db, "Probe", {"n": n})
    after = event_log.events_after(db, CATEGORY_CASE, 3, 4)
    assert [e.data["n"] for e in after] == [3, 4, 5, 6], "events_after must give the events above the cursor"
    latest = event_log.events_latest(db, CATEGORY_CASE, 3, upto=event_log.last_seq(db))
    assert [e.data["n"] for e in latest] == [7, 8, 9], "events_latest must give the newest, oldest first"
    assert event_log.last_seq(db) == 10


def test_sync_cursor_never_moves_back(db: Connection) -> None:
    assert event_log.sync_cursor(db, "upstream") == 0, "a consumer that never synced stands at 0"
    assert event_log.mark_synced(db, "upstream", 7) == 7
    assert event_log.mark_synced(db, "upstream", 3) == 7, "a cursor moved back"
    assert event_log.sync_cursor(db, "upstream") == 7


def test_an_alert_is_acknowledged_once(db: Connection) -> None:
    _add(db, "Alert", {"kind": "Test"})
    _add(db, "ChargerBooted", {})  # not an alert
    seq = event_log.last_seq(db) - 1
    outcome = event_log.acknowledge_alert(db, CATEGORY_CASE, seq, "ana", 5.0)
    assert not isinstance(outcome, str), f"acknowledging an open alert failed: {outcome}"
    state, recorded = outcome
    assert (state.acknowledged_by, state.acknowledged_at) == ("ana", 5.0)
    assert (recorded.kind, recorded.data()) == ("AlertAcknowledged", {"alertSeq": seq, "operator": "ana"})
    assert event_log.acknowledge_alert(db, CATEGORY_CASE, seq, "bo", 6.0) == "acknowledged", (
        "a second acknowledgement must be refused, not recorded"
    )
    assert event_log.acknowledge_alert(db, CATEGORY_CASE, seq + 1, "bo", 6.0) == "missing", (
        "a seq that is not an alert's must be missing"
    )
    assert [a.event.seq for a in event_log.alerts(db, CATEGORY_CASE, "open", 10)] == []
    assert [a.acknowledged_by for a in event_log.alerts(db, CATEGORY_CASE, "acknowledged", 10)] == ["ana"]


def test_an_acknowledgement_logged_before_camel_case_keys_still_counts(db: Connection) -> None:
    """Rows an appliance logged before the payload keys were camelCase name the alert `alert_seq`: the alert
    they acknowledged stays acknowledged."""
    _add(db, "Alert", {"kind": "Test"})
    seq = event_log.last_seq(db)
    _add(db, "AlertAcknowledged", {"alert_seq": seq, "operator": "ana"})
    assert [state.event.seq for state in event_log.alerts(db, CATEGORY_CASE, "open", 10)] == []
    found = event_log.alert(db, CATEGORY_CASE, seq)
    assert found is not None
    assert found.acknowledged_by == "ana"
    assert event_log.acknowledge_alert(db, CATEGORY_CASE, seq, "bo", 6.0) == "acknowledged"
