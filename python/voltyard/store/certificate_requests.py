"""The `certificate_requests` table: the CSRs chargers sent (SignCertificate), kept for an operator's CA."""

from __future__ import annotations

from voltyard.store.writer import StoreWriter

__all__ = ["append_request"]

_INSERT = "INSERT INTO certificate_requests (charger_id, csr, received_at) VALUES (?, ?, ?)"


def append_request(store: StoreWriter, charger_id: str, csr: str, at: float) -> None:
    store.append(_INSERT, (charger_id, csr, at))
