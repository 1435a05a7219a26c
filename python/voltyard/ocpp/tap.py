"""The per-frame events for live inspectors (MessageIn / MessageOut), built only while one listens."""

from __future__ import annotations

from voltyard.events import Event, EventBus

__all__ = ["tap"]


def tap(  # noqa: PLR0917 - one call per frame, positional for speed
    events: EventBus,
    kind: str,
    charger_id: str,
    action: str | None,
    message_id: str,
    message_type: int,
    frame: bytes,
) -> None:
    """Publish one frame to the live stream (callers check `events.tap_messages` first)."""
    data = {"action": action, "message_id": message_id, "message_type": message_type,
            "frame": frame.decode("utf-8", "replace")}  # fmt: skip
    events.live(Event(kind, charger_id, data))
