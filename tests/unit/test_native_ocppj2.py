"""voltyard._native's OCPP-J codec for 2.0.1 and 2.1 from Python: the golden frames of
tests/fixtures/frames/v201 and v21 (shared with the Rust golden tests), the 2.x error spellings and
classes, 2.1's CALLRESULTERROR and SEND, and each version's codec apart from the others."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from voltyard import errors
from voltyard._native import (
    Call,
    CallResult,
    CallResultError,
    OcppCodec,
    Send,
    encode_call_error,
    encode_call_result_error,
    encode_send,
)
from voltyard.ocpp.codec import load_codec, schema_dir

from tests.conftest import InvalidFrame, load_invalid_frames, valid_frame_paths

VERSIONS = ("2.0.1", "2.1")
SCHEMA_FILES = {"2.0.1": 128, "2.1": 181}
VALID = [(v, p) for v in VERSIONS for p in valid_frame_paths(v)]
INVALID = [(v, case) for v in VERSIONS for case in load_invalid_frames(v)]


@pytest.mark.parametrize("version", VERSIONS)
def test_valid_frames_are_one_per_schema_of_the_ocpp_package(version: str) -> None:
    schemas = sorted(p.name for p in schema_dir(version).glob("*.json"))
    assert len(schemas) == SCHEMA_FILES[version]
    assert sorted(p.name for p in valid_frame_paths(version)) == schemas
    codec = load_codec(version)
    requests = {name.removesuffix("Request.json") for name in schemas if name.endswith("Request.json")}
    sends = {
        name.removesuffix(".json") for name in schemas if not name.endswith(("Request.json", "Response.json"))
    }
    assert sorted(codec.actions) == sorted(requests | sends)


@pytest.mark.parametrize(("version", "path"), VALID, ids=lambda x: x if isinstance(x, str) else x.stem)
def test_valid_frame_decodes_to_the_same_data(version: str, path: Path) -> None:
    codec = load_codec(version)
    raw = path.read_bytes()
    expected = json.loads(raw)
    answers = path.stem.removesuffix("Response") if path.stem.endswith("Response") else None
    frame = codec.decode(raw, answers)
    match frame:
        case Call(message_id, action, payload):
            assert path.stem == f"{action}Request"
            assert [2, message_id, action, payload] == expected
        case CallResult(message_id, payload):
            assert answers is not None
            assert [3, message_id, payload] == expected
        case Send(message_id, action, payload):
            assert version == "2.1"
            assert path.stem == action
            assert [6, message_id, action, payload] == expected
        case _:
            raise AssertionError(frame)
    if isinstance(frame, Call | Send):
        codec.validate(frame.action, frame.payload)
    elif answers is not None:
        codec.validate(answers, frame.payload, response=True)


@pytest.mark.parametrize(("version", "case"), INVALID, ids=lambda x: x if isinstance(x, str) else x.name)
def test_invalid_frame_maps_to_its_callerror(version: str, case: InvalidFrame) -> None:
    with pytest.raises(errors.OcppError) as caught:
        load_codec(version).decode(case.frame, case.answers)
    error = caught.value
    assert error.code == case.code, error.description
    assert type(error) is errors.OCPP_ERRORS_BY_CODE[case.code]
    assert error.message_id == case.message_id
    assert error.action == case.action
    if case.message_type is not None:
        assert error.message_type == case.message_type
    assert error.description
    assert len(error.description) < 400


@pytest.mark.parametrize("version", VERSIONS)
def test_each_table_has_forty_frames_and_every_2x_code_family(version: str) -> None:
    cases = load_invalid_frames(version)
    assert len(cases) >= 40
    assert {case.code for case in cases} >= {
        "FormatViolation",
        "RpcFrameworkError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "TypeConstraintViolation",
    }
    # The 1.6 spellings never appear in a 2.x table.
    assert not {case.code for case in cases} & {"FormationViolation", "OccurenceConstraintViolation"}


def test_2x_errors_are_caught_where_their_16_meaning_is() -> None:
    # Code that handles a 1.6 FormationViolation handles 2.x's FormatViolation the same way.
    assert issubclass(errors.FormatViolationError, errors.FormationViolationError)
    assert issubclass(errors.OccurrenceConstraintViolationError, errors.OccurenceConstraintViolationError)


def test_each_version_has_its_own_cached_codec() -> None:
    codecs = {version: load_codec(version) for version in ("1.6", *VERSIONS)}
    assert {v: c.version for v, c in codecs.items()} == {"1.6": "1.6", "2.0.1": "2.0.1", "2.1": "2.1"}
    assert all(load_codec(v) is c for v, c in codecs.items())
    assert load_codec() is codecs["1.6"]
    assert "TransactionEvent" in codecs["2.0.1"].actions
    assert "StartTransaction" not in codecs["2.0.1"].actions
    assert "NotifyPeriodicEventStream" in codecs["2.1"].actions


def test_message_types_5_and_6_are_2_1_only() -> None:
    send = (
        b'[6,"s-1","NotifyPeriodicEventStream",'
        b'{"id":1,"pending":0,"basetime":"2026-12-07T05:40:00Z","data":[{"t":0,"v":"1"}]}]'
    )
    result_error = b'[5,"r-1","FormatViolation","your answer was broken",{}]'
    decoded = load_codec("2.1").decode(send)
    assert isinstance(decoded, Send)
    assert (decoded.message_id, decoded.action, decoded.payload["id"]) == (
        "s-1",
        "NotifyPeriodicEventStream",
        1,
    )
    decoded_error = load_codec("2.1").decode(result_error)
    assert isinstance(decoded_error, CallResultError)
    assert (decoded_error.code, decoded_error.description) == ("FormatViolation", "your answer was broken")
    for frame in (send, result_error):
        with pytest.raises(errors.MessageTypeNotSupportedError) as refused:
            load_codec("2.0.1").decode(frame)
        assert refused.value.message_id in ("s-1", "r-1")
        # 1.6 keeps its own answer to a type it does not know: FormationViolation, as before 2.x.
        with pytest.raises(errors.FormationViolationError) as old:
            load_codec("1.6").decode(frame)
        assert type(old.value) is errors.FormationViolationError


def test_a_frame_of_one_version_checked_by_another() -> None:
    authorize16 = b'[2,"a-1","Authorize",{"idTag":"ABC"}]'
    load_codec("1.6").decode(authorize16)
    with pytest.raises(errors.OcppError) as caught:
        load_codec("2.0.1").decode(authorize16)
    assert caught.value.code in ("FormatViolation", "OccurrenceConstraintViolation")
    with pytest.raises(errors.ActionNotImplementedError, match=re.escape("not an OCPP 2.0.1 action")):
        load_codec("2.0.1").decode(b'[2,"a-2","StartTransaction",{}]')
    with pytest.raises(errors.ActionNotImplementedError, match=re.escape("not an OCPP 1.6 action")):
        load_codec("1.6").decode(b'[2,"a-3","TransactionEvent",{}]')


def test_writers_of_2x_frames_round_trip_through_the_2_1_codec() -> None:
    codec = load_codec("2.1")
    payload = {"id": 7, "pending": 0, "basetime": "2026-12-07T05:40:00Z", "data": [{"t": 0.5, "v": "230.1"}]}
    sent = codec.decode(encode_send("s-2", "NotifyPeriodicEventStream", payload))
    assert isinstance(sent, Send)
    assert sent.payload == payload
    frame = encode_call_result_error(
        "r-2", "OccurrenceConstraintViolation", "missing status", {"at": "/status"}
    )
    assert frame == b'[5,"r-2","OccurrenceConstraintViolation","missing status",{"at":"/status"}]'
    assert isinstance(codec.decode(frame), CallResultError)
    assert (
        encode_call_error("c-1", "RpcFrameworkError", version="2.0.1")
        == b'[4,"c-1","RpcFrameworkError","",{}]'
    )


def test_writers_refuse_a_code_of_another_version() -> None:
    with pytest.raises(ValueError, match=re.escape("not an OCPP 2.0.1 CALLERROR code")):
        encode_call_error("c-1", "FormationViolation", version="2.0.1")
    with pytest.raises(ValueError, match=re.escape("not an OCPP 1.6 CALLERROR code")):
        encode_call_error("c-1", "FormatViolation")
    with pytest.raises(ValueError, match=re.escape("not an OCPP 2.1 CALLERROR code")):
        encode_call_result_error("r-1", "OccurenceConstraintViolation")
    with pytest.raises(ValueError, match="OCPP version must be"):
        encode_call_error("c-1", "GenericError", version="2.0")  # type: ignore[arg-type]
    with pytest.raises(errors.FrameEncodeError):
        encode_send("", "NotifyPeriodicEventStream", {})


def test_a_codec_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=re.escape('OCPP version must be "1.6", "2.0.1" or "2.1", got "3.0"')
    ):
        OcppCodec(schema_dir("2.1"), "3.0")
    expected = "OCPP version must be one of 1.6, 2.0.1, 2.1, got '2.0'"
    with pytest.raises(errors.SchemaLoadError, match=re.escape(expected)):
        schema_dir("2.0")


def test_2x_schemas_read_with_1_6_names_are_unpaired(tmp_path: Path) -> None:
    # A 2.x directory read as 1.6: `HeartbeatRequest` has no `HeartbeatRequestResponse`.
    with pytest.raises(errors.SchemaLoadError, match="lacks its request or its response schema"):
        OcppCodec(schema_dir("2.0.1"), "1.6")


def test_the_meter_fast_path_is_1_6_only() -> None:
    # A 2.0.1 MeterValues (evseId, sampled values as numbers) is decoded as any other frame.
    frame = (valid_frame_paths("2.0.1")[0].parent / "MeterValuesRequest.json").read_bytes()
    call = load_codec("2.0.1").decode(frame, meter_values=True)
    assert isinstance(call, Call)
    assert call.meter_values is None
    assert call.payload["evseId"] == 1
