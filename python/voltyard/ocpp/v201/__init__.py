"""Handlers of every charger-initiated OCPP 2.0.1 action, over the domain services 1.6 uses.

`build_router(services, version)` builds the router of 2.0.1 or of 2.1: the handlers of `core` serve the
messages whose shape both versions share; every other charger-initiated action of the version gets the
smallest schema-valid answer (`minimal.minimal_answer`), and the exchange is in the message log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voltyard._native import OcppCodec
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.ocpp.codec import load_codec
from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.services import Services
from voltyard.ocpp.v201 import core
from voltyard.ocpp.v201.minimal import minimal_answer

if TYPE_CHECKING:
    from voltyard.ocpp.router import Handler
    from voltyard.ocpp.session import Session

__all__ = ["build_lanes", "build_router"]


def build_router(services: Services, version: str = "2.0.1") -> Router:
    """The router of `version` ("2.0.1" or "2.1") with a handler for every charger-initiated action."""
    router = Router(version)
    core.register(router, services)
    for action in sorted(ACTION_TABLES[version].sent_by(Direction.CHARGER) - set(router)):
        router.on(action)(_recorded(version, action))
    return router


def _recorded(version: str, action: str) -> Handler:
    """A handler answering `action` with its smallest valid answer (the message log has the exchange)."""

    def answer(session: Session, payload: Payload) -> Payload:
        return minimal_answer(version, action)

    answer.__qualname__ = f"recorded[{version}:{action}]"
    return answer


def build_lanes(services: Services, versions: Sequence[str]) -> dict[str, tuple[OcppCodec[Any], Router]]:
    """The codec and router of each 2.x version in `versions` (the dispatcher's lanes); the schemas of a
    version no charger may speak are not compiled."""
    return {
        version: (load_codec(version), build_router(services, version))
        for version in versions
        if version != "1.6"
    }
