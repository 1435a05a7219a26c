"""EV identities (EVCCID, EMAID0, EMAID1, EVMAC) reassembled from EVIdentity segments of 5 bytes.

Segments may arrive in any order and repeat; an identity is complete when all `count` segments of
it are in, and is reported once until `reset` (unplug). A segment that contradicts the others (a
different count, an index past it, a length over 5) starts that identity over.
"""

from __future__ import annotations

from voltyard.can.frames import EvIdentity, IdKind

SEGMENT_BYTES = 5


class IdentityAssembler:
    __slots__ = ("_complete", "_parts")

    def __init__(self) -> None:
        self._parts: dict[int, tuple[int, dict[int, bytes]]] = {}
        self._complete: set[int] = set()

    def reset(self) -> None:
        self._parts.clear()
        self._complete.clear()

    def feed(self, frame: EvIdentity) -> tuple[IdKind, bytes] | None:
        """The identity this segment completes, or None."""
        kind, index, count, length = frame.id_kind, frame.id_seg_index, frame.id_seg_count, frame.id_seg_len
        if kind not in IdKind._value2member_map_ or count == 0 or index >= count or length > SEGMENT_BYTES:
            self._parts.pop(kind, None)
            return None
        if kind in self._complete:
            return None
        known_count, segments = self._parts.get(kind, (count, {}))
        if known_count != count:
            segments = {}
        data = bytes((frame.id_byte0, frame.id_byte1, frame.id_byte2, frame.id_byte3, frame.id_byte4))
        segments[index] = data[:length]
        self._parts[kind] = (count, segments)
        if len(segments) < count:
            return None
        self._complete.add(kind)
        del self._parts[kind]
        return IdKind(kind), b"".join(segments[i] for i in range(count))
