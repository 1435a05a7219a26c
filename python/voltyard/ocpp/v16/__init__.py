"""Handlers of every charger-initiated OCPP 1.6 action (core profile and the security extension).

`build_router` assembles the router from the handler modules; each module's `register` adds its actions.
"""

from __future__ import annotations

from voltyard.ocpp.actions import CHARGER_ACTIONS
from voltyard.ocpp.router import Router
from voltyard.ocpp.services import Services
from voltyard.ocpp.v16 import authorization, core, firmware, security, transactions

__all__ = ["build_router"]


def build_router(services: Services) -> Router:
    """The router with a handler for every charger-initiated action."""
    router = Router()
    for module in (core, transactions, authorization, firmware, security):
        module.register(router, services)
    missing = CHARGER_ACTIONS - set(router)
    if missing:
        raise RuntimeError(f"no handler for {sorted(missing)}")
    return router
