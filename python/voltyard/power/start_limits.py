"""Which chargers have their start limit (the TxDefaultProfile new sessions start with) in force.

A charger that boots may have lost it, so it is due again after every accepted BootNotification (a
start delay later, once the charger has its answer); a charger first heard of through a session (it
booted before the manager started) is due at once. A charger is "limited" only once it accepted the
profile and did not boot again meanwhile.
"""

from __future__ import annotations

__all__ = ["StartLimits"]


class StartLimits:
    """Bookkeeping only; the manager sends the profiles."""

    def __init__(self) -> None:
        self._limited: set[str] = set()
        self._due: dict[str, float] = {}  # charger id -> when it may be sent (monotonic)

    def limited(self, charger_id: str) -> bool:
        return charger_id in self._limited

    def booted(self, charger_id: str, due_at: float) -> None:
        self._limited.discard(charger_id)
        self._due[charger_id] = due_at

    def seen(self, charger_id: str, now: float) -> None:
        """A charger with a session: due at once unless it is limited or already due."""
        if charger_id not in self._limited:
            self._due.setdefault(charger_id, now)

    def due(self, now: float) -> list[str]:
        return [charger for charger, at in self._due.items() if at <= now]

    def installed(self, charger_id: str, sent_at: float) -> None:
        """The charger accepted the profile sent at `sent_at` (ignored if it booted again since)."""
        if self._due.get(charger_id, float("inf")) <= sent_at:
            del self._due[charger_id]
            self._limited.add(charger_id)
