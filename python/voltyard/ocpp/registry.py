"""Charger id -> the live session. A new session for a connected id replaces the old one.

The old socket is closed; its late `closed` callback must not remove the newer session, so removal
checks identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voltyard.ocpp.codec import OcppVersion
    from voltyard.ocpp.session import Session

__all__ = ["Registry"]


class Registry:
    """The connected chargers of this process."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        # The OCPP version each charger last connected with (in this process): a call to one that is away
        # is checked against its own version, not 1.6's.
        self._versions: dict[str, OcppVersion] = {}

    def version_of(self, charger_id: str) -> OcppVersion:
        """The version of the charger's live session, else the one it last had, else 1.6."""
        return self._versions.get(charger_id, "1.6")

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, charger_id: str) -> bool:
        return charger_id in self._sessions

    def get(self, charger_id: str) -> Session | None:
        return self._sessions.get(charger_id)

    def ids(self) -> list[str]:
        return list(self._sessions)

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    def last_heard(self) -> list[tuple[str, float]]:
        """Each connected charger with the time its last CALL came (for the heartbeat checks)."""
        return [(session.charger_id, session.last_message) for session in self._sessions.values()]

    def attach(self, session: Session) -> Session | None:
        """Make `session` the live one for its charger; returns the one it replaced, if any."""
        previous = self._sessions.get(session.charger_id)
        self._sessions[session.charger_id] = session
        self._versions[session.charger_id] = session.ocpp_version
        return previous if previous is not session else None

    def detach(self, session: Session) -> bool:
        """Forget `session` if it is still the live one; False when a newer one replaced it."""
        if self._sessions.get(session.charger_id) is session:
            del self._sessions[session.charger_id]
            return True
        return False
