"""Charger id -> the live connection. A new connection for a connected id replaces the old one.

The old socket is closed; its late `disconnected` callback must not remove the newer session, so removal
checks identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voltyard.gateway.connection import ChargerConnection

__all__ = ["Registry"]


class Registry:
    """The connected chargers of this process."""

    def __init__(self) -> None:
        self._connections: dict[str, ChargerConnection] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def __contains__(self, charger_id: str) -> bool:
        return charger_id in self._connections

    def get(self, charger_id: str) -> ChargerConnection | None:
        return self._connections.get(charger_id)

    def ids(self) -> list[str]:
        return list(self._connections)

    def connections(self) -> list[ChargerConnection]:
        return list(self._connections.values())

    def attach(self, connection: ChargerConnection) -> ChargerConnection | None:
        """Make `connection` the live one for its charger; returns the one it replaced, if any."""
        previous = self._connections.get(connection.charger_id)
        self._connections[connection.charger_id] = connection
        return previous if previous is not connection else None

    def detach(self, connection: ChargerConnection) -> bool:
        """Forget `connection` if it is still the live one; False when a newer one replaced it."""
        if self._connections.get(connection.charger_id) is connection:
            del self._connections[connection.charger_id]
            return True
        return False
