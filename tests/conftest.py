"""Shared fixtures: the golden frames of tests/fixtures/frames and the process-wide codec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from voltyard._native import OcppCodec
from voltyard.ocpp.codec import load_codec

FIXTURES = Path(__file__).parent / "fixtures"
FRAMES = FIXTURES / "frames"


@dataclass(frozen=True, slots=True)
class InvalidFrame:
    """One row of tests/fixtures/frames/invalid.json (shared with the Rust golden tests)."""

    name: str
    frame: bytes
    code: str
    message_id: str | None
    answers: str | None
    action: str | None


def load_invalid_frames() -> list[InvalidFrame]:
    rows = json.loads((FRAMES / "invalid.json").read_text(encoding="utf-8"))
    return [
        InvalidFrame(
            name=row["name"],
            frame=bytes.fromhex(row["frame_hex"]) if "frame_hex" in row else row["frame"].encode(),
            code=row["code"],
            message_id=row["message_id"],
            answers=row.get("answers"),
            action=row.get("action"),
        )
        for row in rows
    ]


def valid_frame_paths() -> list[Path]:
    return sorted((FRAMES / "valid").glob("*.json"))


@pytest.fixture(scope="session")
def codec() -> OcppCodec:
    return load_codec()
