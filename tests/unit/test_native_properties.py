"""Property tests of the frame codec: whatever the encoder writes, the decoder reads back; whatever
bytes arrive, the decoder answers with a frame or an OcppError (never another exception)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from voltyard._native import CallResult, OcppCodec, encode_call_result
from voltyard.errors import OcppError
from voltyard.ocpp.codec import load_codec

CODEC: OcppCodec = load_codec()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e18, max_value=1e18)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
message_ids = st.text(min_size=1, max_size=36)


@given(message_ids, st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_encode_then_decode_is_identity(message_id: str, payload: dict[str, object]) -> None:
    frame = CODEC.decode(encode_call_result(message_id, payload))
    assert isinstance(frame, CallResult)
    assert frame.message_id == message_id
    assert frame.payload == payload


@settings(max_examples=300)
@given(st.binary(max_size=256))
def test_any_bytes_give_a_frame_or_an_ocpp_error(data: bytes) -> None:
    try:
        CODEC.decode(data)
    except OcppError as error:
        assert error.description
        assert error.message_id is None or 1 <= len(error.message_id) <= 36


@given(json_values)
def test_any_json_gives_a_frame_or_an_ocpp_error(value: object) -> None:
    try:
        CODEC.decode(json.dumps(value))
    except OcppError as error:
        assert error.code in {"FormationViolation", "NotImplemented"} or error.action
