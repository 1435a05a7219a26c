"""The device model of each OCPP 2.x charger (`device_model`): the variable attributes its NotifyReport
parts named, one row per attribute, the latest value winning. Written behind, within the commit interval:
a report is the charger's own state, which it sends again on request."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from voltyard.store.writer import StoreWriter

__all__ = ["VariableRow", "append_report", "read"]

# (charger_id, component, component_instance, evse_id, connector_id, variable, variable_instance,
#  attribute_type, value, mutability, updated_at)
VariableRow = tuple[str, str, str, int, int, str, str, str, str | None, str | None, float]

_UPSERT = """
INSERT INTO device_model (charger_id, component, component_instance, evse_id, connector_id, variable,
                          variable_instance, attribute_type, value, mutability, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, component, component_instance, evse_id, connector_id, variable, variable_instance,
             attribute_type)
DO UPDATE SET value = excluded.value, mutability = COALESCE(excluded.mutability, device_model.mutability),
              updated_at = excluded.updated_at
"""


def append_report(store: StoreWriter, rows: Sequence[VariableRow]) -> None:
    """One NotifyReport part's attributes (in order: a later row of the same attribute wins)."""
    for row in rows:
        store.append(_UPSERT, row)


def read(conn: sqlite3.Connection, charger_id: str) -> list[tuple[Any, ...]]:
    """The charger's device model, by component and variable: (component, component_instance, evse_id,
    connector_id, variable, variable_instance, attribute_type, value, mutability)."""
    return list(
        conn.execute(
            "SELECT component, component_instance, evse_id, connector_id, variable, variable_instance, "
            "attribute_type, value, mutability FROM device_model WHERE charger_id = ? "
            "ORDER BY component, component_instance, evse_id, connector_id, variable, variable_instance, "
            "attribute_type",
            (charger_id,),
        )
    )
