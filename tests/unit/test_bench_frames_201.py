"""The OCPP 2.0.1 frames of the server benchmark (bench/loadgen.py `Frames201`, bench_server.py --ocpp
2.0.1) and the floor's 2.0.1 answers (bench/baselines/floor_server.py): each is valid against the 2.0.1
schemas, as the 2.0.1 codec checks them, so that the benchmark measures the work of valid traffic, not of
refusals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from voltyard._native import Call
from voltyard.ocpp.codec import load_codec

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402 - from bench/, put on the path above
from baselines import floor_server  # noqa: E402


def _call(frame: bytes) -> Call:
    message = load_codec("2.0.1").decode(frame)
    assert type(message) is Call, message
    return message


def test_the_boot_is_a_valid_201_boot_notification() -> None:
    call = _call(loadgen.boot_frame_201())
    assert call.action == "BootNotification"
    assert call.payload["chargingStation"] == {"vendorName": "Voltyard", "model": "bench"}


def test_a_charger_starts_its_transaction_then_sends_the_mix_with_the_next_seq_no() -> None:
    frames = loadgen.Frames201()
    calls = [_call(frames.call(str(n).encode(), n)) for n in range(1, 31)]
    first, rest = calls[0], calls[1:]
    assert first.action == "TransactionEvent"
    assert (first.payload["eventType"], first.payload["seqNo"]) == ("Started", 0)
    assert first.payload["idToken"] == {"idToken": "BENCHTAG", "type": "ISO14443"}
    events = [call.payload for call in rest if call.action == "TransactionEvent"]
    assert [event["seqNo"] for event in events] == list(range(1, len(events) + 1)), "seqNos must run on"
    assert {event["eventType"] for event in events} == {"Updated"}
    transactions = {event["transactionInfo"]["transactionId"] for event in [first.payload, *events]}
    assert transactions == {frames.transaction_id}
    [meter_value] = events[0]["meterValue"]
    assert [sample["measurand"] for sample in meter_value["sampledValue"]] == [
        "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage",
    ]  # fmt: skip
    # The mix of 1.6's, per ten calls: 6 TransactionEvent, 3 Heartbeat, 1 StatusNotification.
    actions = [call.action for call in rest[:20]]
    assert sorted({a: actions.count(a) for a in actions}.items()) == [
        ("Heartbeat", 6), ("StatusNotification", 2), ("TransactionEvent", 12),
    ]  # fmt: skip
    status = next(call.payload for call in rest if call.action == "StatusNotification")
    assert status == loadgen.PAYLOADS_201["StatusNotification"]


def test_each_charger_has_its_own_transaction() -> None:
    assert loadgen.Frames201().transaction_id != loadgen.Frames201().transaction_id


@pytest.mark.parametrize("seq_no", [1, 9, 10, 99_999, 2**31])
def test_the_pre_encoded_updated_is_the_builder_s_payload(seq_no: int) -> None:
    frames = loadgen.Frames201("TX-1")
    frames.call(b"s", 0)  # its Started
    frames.seq_no = seq_no - 1
    call = _call(frames.call(b"m-1", 1))
    assert call.message_id == "m-1"
    assert call.payload == loadgen.tx_updated_201("TX-1", seq_no)


def test_the_16_frames_are_unchanged() -> None:
    # `--ocpp 1.6` (the default) sends what it sent before 2.0.1 was added: the 1.6 figures stay comparable.
    assert loadgen._MIX == ("MeterValues",) * 6 + ("Heartbeat",) * 3 + ("StatusNotification",)
    assert loadgen._TAILS[0] == b'","MeterValues",' + orjson.dumps(loadgen._PAYLOADS["MeterValues"]) + b"]"
    codec = load_codec("1.6")
    for tail in loadgen._TAILS:
        assert type(codec.decode(b'[2,"1' + tail)) is Call


def test_an_unknown_version_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"OCPP version must be one of 1\.6, 2\.0\.1, got '2\.1'"):
        loadgen._check_version("2.1")


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("BootNotification", loadgen.BOOT_201),
        ("Heartbeat", {}),
        ("StatusNotification", loadgen.PAYLOADS_201["StatusNotification"]),
        ("TransactionEvent", loadgen.tx_started_201("TX-1")),
        ("TransactionEvent", loadgen.tx_updated_201("TX-1", 1)),
    ],
)
def test_the_floor_answers_201_with_a_valid_call_result(action: str, payload: dict[str, Any]) -> None:
    reply = floor_server.REPLIES_201.get(action)
    answer = reply(payload) if reply is not None else {}
    load_codec("2.0.1").validate(action, answer, response=True)
    if "idToken" in payload:
        assert answer == {"idTokenInfo": {"status": "Accepted"}}


def test_the_floor_speaks_201_when_offered() -> None:
    class Request:
        def __init__(self, offered: str | None) -> None:
            self.headers = {} if offered is None else {"Sec-WebSocket-Protocol": offered}

    assert floor_server.subprotocol(Request("ocpp2.0.1")) == "ocpp2.0.1"  # type: ignore[arg-type]
    assert floor_server.subprotocol(Request("ocpp1.6, ocpp2.0.1")) == "ocpp2.0.1"  # type: ignore[arg-type]
    assert floor_server.subprotocol(Request("ocpp1.6")) == "ocpp1.6"  # type: ignore[arg-type]
    assert floor_server.subprotocol(Request(None)) == "ocpp1.6"  # type: ignore[arg-type]
