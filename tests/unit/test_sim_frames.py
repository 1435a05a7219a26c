"""The frame log: correlation, round trips, bounds, exports; and the crafter's schema templates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from voltyard.ocpp.codec import OCPP_VERSIONS, load_codec
from voltyard.sim.craft import payload_template
from voltyard.sim.frames import FrameLog


def test_an_answer_gets_its_calls_action_and_a_round_trip() -> None:
    log = FrameLog()
    log.sent("CP1", b'[2,"7","Heartbeat",{}]')
    answer = log.received("CP1", b'[3,"7",{"currentTime":"2026-01-01T00:00:00Z"}]')
    assert (answer.type, answer.message_id, answer.action) == ("CALLRESULT", "7", "Heartbeat")
    assert answer.rtt_ms is not None
    assert answer.rtt_ms >= 0


def test_the_csms_calls_and_the_chargers_answers_correlate_without_a_round_trip() -> None:
    log = FrameLog()
    log.received("CP1", b'[2,"s1","Reset",{"type":"Soft"}]')
    answer = log.sent("CP1", b'[3,"s1",{"status":"Accepted"}]')
    assert answer.action == "Reset"
    assert answer.rtt_ms is None


def test_broken_frames_are_logged_as_they_came() -> None:
    log = FrameLog()
    entry = log.sent("CP1", b'[2,"m","Heartbeat",')
    assert (entry.type, entry.message_id, entry.frame) == ("invalid", None, '[2,"m","Heartbeat",')
    error = log.received("CP1", b'[4,"m","FormationViolation","bad",{}]')
    assert (error.type, error.message_id) == ("CALLERROR", "m")
    assert log.sent("CP1", b'[9,"x"]').type == "invalid"


def test_answers_of_another_charger_or_a_lost_connection_do_not_correlate() -> None:
    log = FrameLog()
    log.sent("CP1", b'[2,"1","Heartbeat",{}]')
    assert log.received("CP2", b'[3,"1",{}]').action is None
    log.forget("CP1")
    assert log.received("CP1", b'[3,"1",{}]').rtt_ms is None


def test_the_log_is_bounded_and_counts_what_it_dropped() -> None:
    log = FrameLog(limit=3)
    for n in range(5):
        log.sent("CP1", f'[2,"{n}","Heartbeat",{{}}]'.encode())
    assert len(log) == 3
    assert log.dropped == 2
    assert [entry.message_id for entry in log.entries] == ["2", "3", "4"]
    assert log.to_text().startswith("(2 older frames dropped)\n")
    with pytest.raises(ValueError, match="at least 1"):
        FrameLog(limit=0)


def test_exports_json_csv_and_text(tmp_path: Path) -> None:
    log = FrameLog()
    log.sent("CP1", b'[2,"1","Heartbeat",{}]')
    log.received("CP1", b'[3,"1",{"currentTime":"2026-01-01T00:00:00Z"}]')
    log.export(tmp_path / "f.json")
    log.export(tmp_path / "f.csv")
    log.export(tmp_path / "f.log")
    document = json.loads((tmp_path / "f.json").read_text())
    assert [frame["direction"] for frame in document["frames"]] == ["sent", "received"]
    assert document["frames"][1]["action"] == "Heartbeat"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "f.csv").read_text())))
    assert rows[0]["frame"] == '[2,"1","Heartbeat",{}]'
    assert rows[0]["rtt_ms"] == ""
    assert float(rows[1]["rtt_ms"]) >= 0
    lines = (tmp_path / "f.log").read_text().splitlines()
    assert " CP1 -> CALL id=1 Heartbeat  [2," in lines[0]
    assert " CP1 <- CALLRESULT id=1 Heartbeat " in lines[1]


@pytest.mark.parametrize("version", OCPP_VERSIONS)
def test_every_actions_template_passes_its_schema(version: str) -> None:
    codec = load_codec(version)
    for action in codec.actions:
        codec.validate(action, payload_template(version, action))
