"""Authorize: idTagInfo from the tag table and the unknown-tag policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltyard.ocpp.router import Payload, Router
from voltyard.services import Services

if TYPE_CHECKING:
    from voltyard.gateway.connection import ChargerConnection

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    authorization = services.authorization

    @router.on("Authorize")
    def authorize(session: ChargerConnection, payload: Payload) -> Payload:
        return {"idTagInfo": authorization.id_tag_info(payload["idTag"])}
