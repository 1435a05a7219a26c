"""MeterValues read by the native module: from a frame (`decode(..., meter_values=True)`), from plain
objects (`read_meter_values`), and the unit normalisation (`normalise_sampled_values`)."""

from __future__ import annotations

import orjson
import pytest
from voltyard._native import Call, MeterValuesRead, OcppCodec, normalise_sampled_values, read_meter_values
from voltyard.errors import FrameEncodeError, TypeConstraintViolationError

SAMPLED = [
    {"value": "12.5", "unit": "kWh", "context": "Sample.Periodic"},
    {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import"},
    {"value": "2400", "unit": "W", "measurand": "Power.Active.Import", "phase": "L1"},
]
PAYLOAD = {
    "connectorId": 2,
    "transactionId": 41,
    "meterValue": [
        {"timestamp": "2026-11-25T10:00:00Z", "sampledValue": SAMPLED},
        {"timestamp": "2026-11-25T10:00:10Z", "sampledValue": [{"value": "12600"}]},
    ],
}
FRAME = orjson.dumps([2, "m1", "MeterValues", PAYLOAD])


def test_a_meter_values_frame_comes_read_and_its_payload_on_demand(codec: OcppCodec) -> None:
    call = codec.decode(FRAME, meter_values=True)
    assert isinstance(call, Call)
    read = call.meter_values
    assert read is not None
    assert (read.connector_id, read.transaction_id, len(read), read.power_w) == (2, 41, 2, 7200.0)
    readings = read.readings
    assert [(stamp, energy, power) for stamp, _, energy, power in readings] == [
        ("2026-11-25T10:00:00Z", 12500.0, 7200.0),
        ("2026-11-25T10:00:10Z", 12600.0, None),
    ]
    assert orjson.loads(readings[0][1]) == SAMPLED
    assert call.payload == PAYLOAD
    assert call.payload is call.payload  # built once
    assert "MeterValues" in repr(call)


def test_only_meter_values_calls_are_read(codec: OcppCodec) -> None:
    assert codec.decode(FRAME).meter_values is None  # not asked for
    heartbeat = codec.decode(b'[2,"h","Heartbeat",{}]', meter_values=True)
    assert heartbeat.meter_values is None
    assert heartbeat.payload == {}


def test_an_invalid_meter_values_frame_is_refused_as_before(codec: OcppCodec) -> None:
    bad = orjson.dumps([2, "m2", "MeterValues", {**PAYLOAD, "connectorId": "one"}])
    with pytest.raises(TypeConstraintViolationError) as refused:
        codec.decode(bad, meter_values=True)
    assert refused.value.message_id == "m2"


def test_plain_objects_are_read_the_same_way(codec: OcppCodec) -> None:
    def facts(read: MeterValuesRead | None) -> tuple[object, ...]:
        assert read is not None
        return read.connector_id, read.transaction_id, read.readings, read.power_w

    assert facts(read_meter_values(PAYLOAD)) == facts(codec.decode(FRAME, meter_values=True).meter_values)
    no_transaction = {"connectorId": 1, "transactionId": None, "meterValue": []}
    assert facts(read_meter_values(no_transaction)) == (1, None, [], None)
    with pytest.raises(ValueError, match="not a MeterValues request"):
        read_meter_values({"connectorId": 1})
    with pytest.raises(FrameEncodeError, match=r"payload\.meterValue"):
        read_meter_values({"connectorId": 1, "meterValue": object()})


@pytest.mark.parametrize(
    ("sampled", "expected"),
    [
        (SAMPLED, (12500.0, 7200.0)),
        ([{"value": " 15 "}], (15.0, None)),
        ([{"value": "lots"}, {"value": "nan"}, {"value": "inf"}], (None, None)),
        ([{"value": "5", "unit": "Celsius"}], (None, None)),
        ([{"value": "1", "measurand": "Voltage", "unit": "V"}], (None, None)),
        ([{"value": "1"}, {"value": "2"}], (2.0, None)),
        ([], (None, None)),
    ],
)
def test_sampled_values_are_normalised_to_wh_and_w(sampled: list, expected: tuple) -> None:
    assert normalise_sampled_values(sampled) == expected


def test_a_valid_payload_without_a_usable_reading_is_decoded_as_any_other(codec: OcppCodec) -> None:
    # The schema bounds no connectorId; one past 2^63 is valid JSON-schema-wise but no reading.
    huge = {**PAYLOAD, "connectorId": 2**63}
    call = codec.decode(orjson.dumps([2, "m3", "MeterValues", huge]), meter_values=True)
    assert call.meter_values is None
    assert call.payload == huge
    with pytest.raises(ValueError, match="not a MeterValues request"):
        read_meter_values(huge)
