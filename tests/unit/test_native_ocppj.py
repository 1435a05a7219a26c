"""voltyard._native's OCPP-J codec from Python: the golden frames, the error classes, encoding."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from voltyard import errors
from voltyard._native import (
    Call,
    CallError,
    CallResult,
    OcppCodec,
    encode_call,
    encode_call_error,
    encode_call_result,
)
from voltyard.ocpp.codec import ocpp16_schema_dir

from tests.conftest import InvalidFrame, load_invalid_frames, valid_frame_paths

INVALID = load_invalid_frames()


def test_codec_knows_every_schema_of_the_ocpp_package(codec: OcppCodec) -> None:
    names = sorted(p.stem for p in ocpp16_schema_dir().glob("*.json"))
    assert len(names) == 78
    assert sorted([*codec.actions, *(f"{a}Response" for a in codec.actions)]) == names
    assert sorted(p.stem for p in valid_frame_paths()) == names


@pytest.mark.parametrize("path", valid_frame_paths(), ids=lambda p: p.stem)
def test_valid_example_decodes_to_the_same_data(codec: OcppCodec, path: Path) -> None:
    raw = path.read_bytes()
    expected = json.loads(raw)
    answers = path.stem.removesuffix("Response") if path.stem.endswith("Response") else None
    frame = codec.decode(raw, answers)
    if answers is None:
        assert isinstance(frame, Call)
        assert [2, frame.message_id, frame.action, frame.payload] == expected
    else:
        assert isinstance(frame, CallResult)
        assert [3, frame.message_id, frame.payload] == expected


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.name)
def test_invalid_frame_maps_to_its_callerror(codec: OcppCodec, case: InvalidFrame) -> None:
    with pytest.raises(errors.OcppError) as caught:
        codec.decode(case.frame, case.answers)
    error = caught.value
    assert error.code == case.code, error.description
    assert type(error) is errors.OCPP_ERRORS_BY_CODE[case.code]
    assert error.message_id == case.message_id
    assert error.action == case.action
    assert error.description
    assert len(error.description) < 400


def test_the_table_covers_every_payload_error_code() -> None:
    assert len(INVALID) >= 40
    codes = {case.code for case in INVALID}
    assert {
        "FormationViolation",
        "NotImplemented",
        "OccurenceConstraintViolation",
        "PropertyConstraintViolation",
        "TypeConstraintViolation",
    } <= codes


def test_description_names_the_field_and_the_rule(codec: OcppCodec) -> None:
    frame = (
        b'[2,"m","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-25T10:00:00Z",'
        b'"sampledValue":[{"value":"1"},{"value":"2","unit":"kWhh"}]}]}]'
    )
    with pytest.raises(errors.PropertyConstraintViolationError) as caught:
        codec.decode(frame)
    assert caught.value.description.startswith("/meterValue/0/sampledValue/1/unit: ")
    assert "(enum)" in caught.value.description
    assert str(caught.value).startswith("PropertyConstraintViolation: /meterValue/0/")


def test_message_type_tells_whether_to_answer(codec: OcppCodec) -> None:
    with pytest.raises(errors.OcppError) as call:
        codec.decode(b'[2,"a","Authorize",{}]')
    with pytest.raises(errors.OcppError) as result:
        codec.decode(b'[3,"b",{}]', "Heartbeat")
    with pytest.raises(errors.OcppError) as garbage:
        codec.decode(b"{")
    with pytest.raises(errors.OcppError) as truncated:
        codec.decode(b'[3,"r-9",{')
    assert (call.value.message_type, result.value.message_type, garbage.value.message_type) == (2, 3, None)
    assert (truncated.value.message_type, truncated.value.message_id) == (3, "r-9")


def test_decode_accepts_str_bytearray_and_memoryview(codec: OcppCodec) -> None:
    text = '[2,"id-1","Heartbeat",{}]'
    for frame in (text, text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        decoded = codec.decode(frame)
        assert isinstance(decoded, Call)
        assert (decoded.message_id, decoded.action, decoded.payload) == ("id-1", "Heartbeat", {})


def test_str_with_lone_surrogate_is_a_formation_violation(codec: OcppCodec) -> None:
    with pytest.raises(errors.FormationViolationError) as caught:
        codec.decode('[2,"id-2","Authorize",{"idTag":"\udcff"}]')
    assert caught.value.message_id == "id-2"


def test_decode_refuses_other_types(codec: OcppCodec) -> None:
    with pytest.raises(ValueError, match="bytes, str or a byte buffer"):
        codec.decode(12)  # type: ignore[arg-type]


def test_ten_thousand_levels_of_nesting_is_a_value_not_a_crash(codec: OcppCodec) -> None:
    frame = '[2,"deep","DataTransfer",{"vendorId":"v","data":' + "[" * 10_000 + "]" * 10_000 + "}]"
    with pytest.raises(errors.FormationViolationError) as caught:
        codec.decode(frame)
    assert caught.value.message_id == "deep"
    assert "recursion limit" in caught.value.description


def test_a_large_frame_is_handled(codec: OcppCodec) -> None:
    huge = '[2,"big","DataTransfer",{"vendorId":"v","data":"' + "x" * 5_000_000 + '"}]'
    frame = codec.decode(huge)
    assert isinstance(frame, Call)
    assert len(frame.payload["data"]) == 5_000_000


def test_callerror_frame(codec: OcppCodec) -> None:
    frame = codec.decode(b'[4,"e-1","NotSupported","no reservations",{"hint":"later"}]')
    assert isinstance(frame, CallError)
    match frame:
        case CallError(message_id, code, description, details):
            assert (message_id, code, description, details) == (
                "e-1",
                "NotSupported",
                "no reservations",
                {"hint": "later"},
            )


def test_numbers_keep_their_python_types(codec: OcppCodec) -> None:
    frame = codec.decode(b'[3,"n",{"i":-5,"u":18446744073709551615,"f":0.1,"b":true,"z":null}]')
    assert isinstance(frame, CallResult)
    assert frame.payload == {"i": -5, "u": 2**64 - 1, "f": 0.1, "b": True, "z": None}
    assert type(frame.payload["i"]) is int
    assert type(frame.payload["b"]) is bool


def test_validate_checks_outgoing_payloads(codec: OcppCodec) -> None:
    accepted = {"status": "Accepted", "currentTime": "2026-11-25T10:00:00Z", "interval": 300}
    codec.validate("BootNotification", accepted, response=True)
    with pytest.raises(errors.TypeConstraintViolationError) as caught:
        codec.validate("BootNotification", {**accepted, "interval": "300"}, response=True)
    assert caught.value.action == "BootNotification"
    assert caught.value.description.startswith("/interval: ")
    with pytest.raises(errors.ActionNotImplementedError):
        codec.validate("Nope", {})


def test_encoders_round_trip_through_the_decoder(codec: OcppCodec) -> None:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "naïve ✓"}
    frame = codec.decode(encode_call("c-1", "StatusNotification", payload))
    assert isinstance(frame, Call)
    assert (frame.message_id, frame.action, frame.payload) == ("c-1", "StatusNotification", payload)
    assert orjson.loads(encode_call_result("r-1", {"currentTime": "2026-11-25T10:00:00Z"})) == [
        3,
        "r-1",
        {"currentTime": "2026-11-25T10:00:00Z"},
    ]
    assert orjson.loads(encode_call_error("e-1", "OccurenceConstraintViolation", "missing idTag")) == [
        4,
        "e-1",
        "OccurenceConstraintViolation",
        "missing idTag",
        {},
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_call("x" * 37, "Heartbeat", {}), r"1-36 characters, got 37"),
        (lambda: encode_call("", "Heartbeat", {}), r"1-36 characters, got 0"),
        (lambda: encode_call("a", "", {}), "action must not be empty"),
        (lambda: encode_call("a", "Heartbeat", []), "payload must be a JSON object"),
        (lambda: encode_call_result("a", {"when": object()}), r"payload\.when: a object is not a JSON value"),
        (
            lambda: encode_call_result("a", {"v": [1, float("nan")]}),
            r"payload\.v\[1\]: NaN is not a JSON number",
        ),
        (lambda: encode_call_result("a", {1: "x"}), "object keys must be str"),
        (lambda: encode_call_result("a", {"big": 2**64}), "64-bit range"),
    ],
)
def test_encoders_refuse_bad_input(call: Callable[[], object], message: str) -> None:
    with pytest.raises(errors.FrameEncodeError, match=message):
        call()


def test_encode_call_error_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError, match=r"not an OCPP 1\.6 CALLERROR code"):
        encode_call_error("e", "OccurrenceConstraintViolation", "2.0.1 spelling")


def test_encoders_refuse_self_referencing_payloads() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(errors.FrameEncodeError, match="nested deeper than 128 levels"):
        encode_call_result("a", {"loop": loop})


def test_missing_schema_dir_is_a_schema_load_error(tmp_path: Path) -> None:
    with pytest.raises(errors.SchemaLoadError, match="No such file"):
        OcppCodec(tmp_path / "absent")
    with pytest.raises(errors.SchemaLoadError, match=r"no \*\.json schema"):
        OcppCodec(tmp_path)
    (tmp_path / "Broken.json").write_text("{")
    (tmp_path / "BrokenResponse.json").write_text("{}")
    with pytest.raises(errors.SchemaLoadError, match=r"Broken\.json: not JSON"):
        OcppCodec(tmp_path)
