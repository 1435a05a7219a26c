"""The frame log: every frame a simulated charger sends and receives, with time, direction, correlation.

Each entry has the wall-clock time, the charger, the direction ("sent" or "received"), the OCPP-J
message type (CALL, CALLRESULT, CALLERROR, ... or "invalid" for a frame that is not OCPP-J), the
message id, the action (for an answer: the action of the call it answers) and, for an answer to a call
of the charger's own, the round trip in milliseconds. The log is bounded: past `limit` entries the
oldest go, and `dropped` counts them. It exports as JSON, CSV or text.

The log reads frames with `json` itself rather than through the codec, so that a frame the codec
refuses (broken JSON, a wrong envelope) is logged as it came.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

__all__ = ["FORMATS", "FrameEntry", "FrameLog", "frame_format"]

Direction = Literal["sent", "received"]
FORMATS = ("json", "csv", "text")
_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}
_FIELDS = ("time", "charger", "direction", "type", "message_id", "action", "rtt_ms", "frame")


@dataclass(frozen=True, slots=True)
class FrameEntry:
    time: str  # ISO 8601 UTC with milliseconds
    charger: str
    direction: Direction
    type: str
    message_id: str | None
    action: str | None
    rtt_ms: float | None
    frame: str


def frame_format(path: Path, given: str | None = None) -> str:
    """The export format: the one given, else the file's suffix (.json, .csv; anything else: text)."""
    if given is not None:
        return given
    return {".json": "json", ".csv": "csv"}.get(path.suffix.lower(), "text")


def _iso(wall: float) -> str:
    seconds = int(wall)
    millis = int((wall - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class FrameLog:
    """See the module docstring."""

    def __init__(self, limit: int = 100_000) -> None:
        if limit < 1:
            raise ValueError(f"a frame log holds at least 1 frame, got {limit}")
        self.entries: deque[FrameEntry] = deque(maxlen=limit)
        self.dropped = 0
        # (charger, message id) of calls in flight, both ways: (action, perf_counter when sent or received)
        self._open: dict[tuple[str, str], tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def sent(self, charger: str, data: bytes | str) -> FrameEntry:
        return self._add(charger, "sent", data)

    def received(self, charger: str, data: bytes | str) -> FrameEntry:
        return self._add(charger, "received", data)

    def _add(self, charger: str, direction: Direction, data: bytes | str) -> FrameEntry:
        now = time.perf_counter()
        text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else data
        kind, message_id, action = _read(text)
        rtt_ms = None
        if kind == "CALL" and message_id is not None and action is not None:
            self._open[(charger, message_id)] = (action, now)
        elif kind in ("CALLRESULT", "CALLERROR", "CALLRESULTERROR") and message_id is not None:
            opened = self._open.pop((charger, message_id), None)
            if opened is not None:
                action = opened[0]
                # Only an answer to the charger's own call has a round trip worth showing.
                if direction == "received":
                    rtt_ms = round((now - opened[1]) * 1000.0, 3)
        entry = FrameEntry(_iso(time.time()), charger, direction, kind, message_id, action, rtt_ms, text)
        if len(self.entries) == self.entries.maxlen:
            self.dropped += 1
        self.entries.append(entry)
        return entry

    def forget(self, charger: str) -> None:
        """The charger's connection went: its open calls will never be answered on it."""
        for key in [key for key in self._open if key[0] == charger]:
            del self._open[key]

    # --- export ----------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {"dropped": self.dropped, "frames": [asdict(entry) for entry in self.entries]}, indent=1
        )

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_FIELDS)
        for entry in self.entries:
            writer.writerow(["" if value is None else value for value in _row(entry)])
        return out.getvalue()

    def to_text(self) -> str:
        lines = [format_entry(entry) for entry in self.entries]
        if self.dropped:
            lines.insert(0, f"({self.dropped} older frames dropped)")
        return "".join(line + "\n" for line in lines)

    def export(self, path: Path, fmt: str | None = None) -> None:
        fmt = frame_format(path, fmt)
        text = {"json": self.to_json, "csv": self.to_csv, "text": self.to_text}[fmt]()
        path.write_text(text, encoding="utf-8")


def format_entry(entry: FrameEntry) -> str:
    """One line: time, charger, arrow, type, id, action, round trip, then the frame as it was."""
    arrow = "->" if entry.direction == "sent" else "<-"
    parts = [entry.time, entry.charger, arrow, entry.type]
    if entry.message_id is not None:
        parts.append(f"id={entry.message_id}")
    if entry.action is not None:
        parts.append(entry.action)
    if entry.rtt_ms is not None:
        parts.append(f"{entry.rtt_ms:.1f} ms")
    return " ".join(parts) + "  " + entry.frame


def _row(entry: FrameEntry) -> tuple[object, ...]:
    return (
        entry.time,
        entry.charger,
        entry.direction,
        entry.type,
        entry.message_id,
        entry.action,
        entry.rtt_ms,
        entry.frame,
    )


def _read(text: str) -> tuple[str, str | None, str | None]:
    """(message type, message id, action) of a frame, as far as it can be read."""
    try:
        message = json.loads(text)
    except ValueError:
        return "invalid", None, None
    if not isinstance(message, list) or not message:
        return "invalid", None, None
    kind = _TYPES.get(message[0], "invalid") if isinstance(message[0], int) else "invalid"
    message_id = message[1] if len(message) > 1 and isinstance(message[1], str) else None
    action = None
    if kind in ("CALL", "SEND") and len(message) > 2 and isinstance(message[2], str):
        action = message[2]
    return kind, message_id, action
