"""EV identities (EVCCID, EMAID0, EMAID1, EVMAC) reassembled from EVIdentity segments of 5 bytes.

Segments may arrive in any order and repeat; an identity is complete when all `count` segments of
it are in, and is reported once until `reset` (unplug); `completed` keeps the plugged EV's identities.
A segment that contradicts the others (a different count, an index past it, a length over 5) starts
that identity over.
"""

from __future__ import annotations

from voltyard.can.frames import EvIdentity, IdKind

SEGMENT_BYTES = 5


class IdentityAssembler:
    __slots__ = ("_parts", "completed")

    def __init__(self) -> None:
        self._parts: dict[int, tuple[int, dict[int, bytes]]] = {}
        self.completed: dict[IdKind, bytes] = {}  # the identities of the EV plugged in, as assembled

    def reset(self) -> None:
        self._parts.clear()
        self.completed.clear()

    def feed(self, frame: EvIdentity) -> tuple[IdKind, bytes] | None:
        """The identity this segment completes, or None."""
        kind, index, count, length = frame.id_kind, frame.id_seg_index, frame.id_seg_count, frame.id_seg_len
        if kind not in IdKind._value2member_map_ or count == 0 or index >= count or length > SEGMENT_BYTES:
            self._parts.pop(kind, None)
            return None
        if kind in self.completed:
            return None
        known_count, segments = self._parts.get(kind, (count, {}))
        if known_count != count:
            segments = {}
        data = bytes((frame.id_byte0, frame.id_byte1, frame.id_byte2, frame.id_byte3, frame.id_byte4))
        segments[index] = data[:length]
        self._parts[kind] = (count, segments)
        if len(segments) < count:
            return None
        del self._parts[kind]
        value = self.completed[IdKind(kind)] = b"".join(segments[i] for i in range(count))
        return IdKind(kind), value
