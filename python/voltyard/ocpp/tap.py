"""The per-frame events for live inspectors (MessageIn / MessageOut), built only while one listens."""

from __future__ import annotations

from voltyard.events.bus import EventBus
from voltyard.events.kinds import MessageIn, MessageOut

__all__ = ["tap"]


def tap(  # noqa: PLR0917 - one call per frame, positional for speed
    events: EventBus,
    kind: type[MessageIn | MessageOut],
    charger_id: str,
    action: str | None,
    message_id: str,
    message_type: int,
    frame: bytes,
) -> None:
    """Publish one frame to the live stream (callers check `events.tap_messages` first)."""
    events.live(kind(charger_id, action, message_id, message_type, frame.decode("utf-8", "replace")))
