"""The `charging_profiles` table: the profiles each charger accepted (SetChargingProfile), until cleared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from voltyard.store.writer import StoreWriter

__all__ = ["append_cleared", "append_installed"]

_INSTALL = """
INSERT INTO charging_profiles (charger_id, connector_id, profile_id, stack_level, purpose, profile,
                               updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, connector_id, profile_id) DO UPDATE SET stack_level = excluded.stack_level,
    purpose = excluded.purpose, profile = excluded.profile, updated_at = excluded.updated_at
"""
# ClearChargingProfile request fields and the columns they select.
_FILTERS = (
    ("id", "profile_id"),
    ("connectorId", "connector_id"),
    ("chargingProfilePurpose", "purpose"),
    ("stackLevel", "stack_level"),
)


def append_installed(
    store: StoreWriter, charger_id: str, connector_id: int, profile: Mapping[str, Any], at: float
) -> None:
    """A profile the charger accepted on `connector_id` (a profile with the same id replaces it)."""
    store.append(
        _INSTALL,
        (charger_id, connector_id, profile["chargingProfileId"], profile["stackLevel"],
         profile["chargingProfilePurpose"], orjson.dumps(profile).decode(), at),
    )  # fmt: skip


def append_cleared(store: StoreWriter, charger_id: str, request: Mapping[str, Any]) -> None:
    """An accepted ClearChargingProfile: the charger's profiles that its request's filters select."""
    clauses, params = ["charger_id = ?"], [charger_id]
    for key, column in _FILTERS:
        if key in request:
            clauses.append(f"{column} = ?")
            params.append(request[key])
    store.append(f"DELETE FROM charging_profiles WHERE {' AND '.join(clauses)}", tuple(params))
