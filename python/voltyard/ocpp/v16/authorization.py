"""Authorize: idTagInfo from the tag table and the unknown-tag policy; a refusal is an AuthorizeRejected
event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltyard.events.kinds import AuthorizeRejected
from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.services import Services

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    authorization = services.authorization
    events = services.events

    @router.on("Authorize")
    def authorize(session: Session, payload: Payload) -> Payload:
        info = authorization.id_tag_info(payload["idTag"])
        if info["status"] != "Accepted":
            # A refused swipe is what an operator is asked about ("my card does not work"): on record.
            events.publish(AuthorizeRejected(session.charger_id, payload["idTag"], info["status"]))
        return {"idTagInfo": info}
