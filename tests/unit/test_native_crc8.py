"""CRC-8 of the PLC CAN contract through voltyard._native, checked against a bitwise reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard._native import check_can_crc, crc8, fill_can_crc
from voltyard.errors import CanPayloadError


def crc8_reference(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def test_check_value() -> None:
    assert crc8(b"123456789") == 0xF4


@given(st.binary(max_size=64))
def test_matches_the_bitwise_reference(data: bytes) -> None:
    assert crc8(data) == crc8_reference(data)


@given(st.binary(min_size=8, max_size=8))
def test_fill_sets_byte_7_and_check_accepts_it(payload: bytes) -> None:
    filled = fill_can_crc(payload)
    assert filled[:7] == payload[:7]
    assert filled[7] == crc8_reference(payload[:7])
    assert check_can_crc(filled)
    assert check_can_crc(payload) == (payload[7] == filled[7])


@given(st.binary(min_size=8, max_size=8), st.integers(0, 63))
def test_any_single_bit_flip_is_caught(payload: bytes, bit: int) -> None:
    corrupted = bytearray(fill_can_crc(payload))
    corrupted[bit // 8] ^= 1 << (bit % 8)
    assert not check_can_crc(bytes(corrupted))


@pytest.mark.parametrize("length", [0, 7, 9, 64])
def test_wrong_length_is_a_can_payload_error(length: int) -> None:
    with pytest.raises(CanPayloadError, match=f"8 bytes, got {length}"):
        fill_can_crc(bytes(length))
    with pytest.raises(CanPayloadError):
        check_can_crc(bytes(length))
