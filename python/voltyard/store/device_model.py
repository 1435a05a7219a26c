"""The device model of each OCPP 2.x charger (`device_model`): the variable attributes its NotifyReport
parts named, one row per attribute, the latest value winning. Written behind, within the commit interval:
a report is the charger's own state, which it sends again on request.

A charger holds at most `MAX_ATTRIBUTES` attributes: past that, a new one is not stored (those it has are
still updated). Real charging stations report some hundreds to a few thousand; without a cap a charger
could grow the table, and the disk, without end by naming new variables. The count is kept by triggers in
`device_model_sizes`, so the check is one lookup per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["MAX_ATTRIBUTES", "VariableRow", "append_report", "read", "size"]

MAX_ATTRIBUTES = 20_000

# (charger_id, component, component_instance, evse_id, connector_id, variable, variable_instance,
#  attribute_type, value, mutability, updated_at)
VariableRow = tuple[str, str, str, int, int, str, str, str, str | None, str | None, float]

# An attribute it has is updated; a new one is added while the charger is under the cap.
_UPSERT = f"""
INSERT INTO device_model (charger_id, component, component_instance, evse_id, connector_id, variable,
                          variable_instance, attribute_type, value, mutability, updated_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
WHERE EXISTS (SELECT 1 FROM device_model
              WHERE charger_id = ?1 AND component = ?2 AND component_instance = ?3 AND evse_id = ?4
                AND connector_id = ?5 AND variable = ?6 AND variable_instance = ?7 AND attribute_type = ?8)
   OR COALESCE((SELECT attributes FROM device_model_sizes WHERE charger_id = ?1), 0) < {MAX_ATTRIBUTES}
ON CONFLICT (charger_id, component, component_instance, evse_id, connector_id, variable, variable_instance,
             attribute_type)
DO UPDATE SET value = excluded.value, mutability = COALESCE(excluded.mutability, device_model.mutability),
              updated_at = excluded.updated_at
"""


def append_report(store: StoreWriter, rows: Sequence[VariableRow]) -> None:
    """One NotifyReport part's attributes (in order: a later row of the same attribute wins)."""
    for row in rows:
        store.append(_UPSERT, row)


def size(conn: Connection, charger_id: str) -> int:
    """How many attributes the charger's device model holds."""
    sql = "SELECT attributes FROM device_model_sizes WHERE charger_id = ?"
    row = conn.execute(sql, (charger_id,)).fetchone()
    return int(row[0]) if row is not None else 0


def read(conn: Connection, charger_id: str) -> list[tuple[Any, ...]]:
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
