"""OCPP 2.1: the 2.0.1 handlers where the message has the same shape, and every 2.1-only charger message
(BatterySwap, NotifyDERAlarm, NotifySettlement, ...) validated, answered with its smallest valid answer and
kept in the message log."""

from __future__ import annotations

from voltyard.ocpp.router import Router
from voltyard.ocpp.services import Services
from voltyard.ocpp.v201 import build_router as build_2x_router

__all__ = ["build_router"]


def build_router(services: Services) -> Router:
    """The router of OCPP 2.1 with a handler for every charger-initiated action."""
    return build_2x_router(services, "2.1")
