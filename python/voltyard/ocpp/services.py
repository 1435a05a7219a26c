"""The domain services of one running appliance, bundled for the OCPP handlers and answer hooks.

It sits in ocpp/ (the layer that uses it) and holds only what lies below: domain services, the store and the
event bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voltyard.config import Config
from voltyard.domain.authorization import Authorization
from voltyard.domain.boot_storm import BootStorm
from voltyard.domain.chargers import Chargers
from voltyard.domain.credentials import Credentials
from voltyard.domain.health import Health
from voltyard.domain.transactions import Transactions
from voltyard.events.bus import EventBus
from voltyard.store.writer import StoreWriter

__all__ = ["Services", "VendorHandler"]

# DataTransfer from a charger: (charger_id, messageId or None, data or None) -> the response payload.
VendorHandler = Callable[[str, str | None, str | None], dict[str, Any]]


@dataclass(slots=True)
class Services:
    """Everything the handlers need; built once by the runtime."""

    config: Config
    store: StoreWriter
    events: EventBus
    chargers: Chargers
    transactions: Transactions
    authorization: Authorization
    credentials: Credentials
    health: Health
    boot_storm: BootStorm
    vendors: dict[str, VendorHandler] = field(default_factory=dict)

    def register_vendor(self, vendor_id: str, handler: VendorHandler) -> None:
        """Handle DataTransfer messages of `vendor_id`; others are answered UnknownVendorId."""
        if vendor_id in self.vendors:
            raise ValueError(f"DataTransfer vendor {vendor_id!r} already has a handler")
        self.vendors[vendor_id] = handler
