"""Authorize: idTagInfo from the operator's central system while an uplink is online, else from the tag table
and the unknown-tag policy; a refusal is an AuthorizeRejected event."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from voltyard.events.kinds import AuthorizeRejected
from voltyard.ocpp.router import Payload, Reply, Router
from voltyard.ocpp.services import Services

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    authorization = services.authorization
    events = services.events

    def answer(charger_id: str, id_tag: str, info: dict[str, str]) -> Payload:
        if info["status"] != "Accepted":
            # A refused swipe is what an operator is asked about ("my card does not work"): on record.
            events.publish(AuthorizeRejected(charger_id, id_tag, info["status"]))
        return {"idTagInfo": info}

    async def ask_upstream(charger_id: str, id_tag: str, asked: Awaitable[dict[str, str] | None]) -> Payload:
        info = await asked
        return answer(charger_id, id_tag, info if info is not None else authorization.id_tag_info(id_tag))

    @router.on("Authorize")
    def authorize(session: Session, payload: Payload) -> Reply:
        id_tag: str = payload["idTag"]
        upstream = authorization.upstream
        # With an uplink online, the operator's central system decides (docs/uplink.md); offline, or when it
        # cannot answer in time, the local tag table and policy do.
        asked = upstream(session.charger_id, id_tag) if upstream is not None else None
        if asked is not None:
            return ask_upstream(session.charger_id, id_tag, asked)
        return answer(session.charger_id, id_tag, authorization.id_tag_info(id_tag))
