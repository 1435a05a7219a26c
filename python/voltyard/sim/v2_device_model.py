"""The device model of a simulated OCPP 2.x charger: components and variables, from its template and settings.

A small, honest model: the station's identity (read-only, from the template), its EVSEs and connectors
(power and type), and the controller variables that mean something to the simulator, each backed by the
1.6 configuration key that drives the same behaviour (`OCPPCommCtrlr.HeartbeatInterval` is
`HeartbeatInterval`, `SampledDataCtrlr.TxUpdatedInterval` is `MeterValueSampleInterval`, ...), so that a
SetVariables changes what the charger does exactly as a ChangeConfiguration does under 1.6. The model is
built on demand (GetVariables, SetVariables, GetBaseReport), never kept per charger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["ITEMS_PER_REPORT", "Variable", "find", "get_result", "report_data", "set_result", "variables"]

# NotifyReport parts carry at most this many variables (DeviceDataCtrlr.ItemsPerMessage[GetReport]).
ITEMS_PER_REPORT: Final = 8

# (component, variable, instance, 1.6 key, data type): read-write controller variables.
_BACKED: Final = (
    ("OCPPCommCtrlr", "HeartbeatInterval", None, "HeartbeatInterval", "integer"),
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent", "TransactionMessageAttempts", "integer"),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent", "TransactionMessageRetryInterval",
     "integer"),
    ("OCPPCommCtrlr", "WebSocketPingInterval", None, "WebSocketPingInterval", "integer"),
    ("SampledDataCtrlr", "TxUpdatedInterval", None, "MeterValueSampleInterval", "integer"),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None, "MeterValuesSampledData", "MemberList"),
    ("SampledDataCtrlr", "TxEndedMeasurands", None, "StopTxnSampledData", "MemberList"),
    ("AlignedDataCtrlr", "Interval", None, "ClockAlignedDataInterval", "integer"),
    ("AlignedDataCtrlr", "Measurands", None, "MeterValuesAlignedData", "MemberList"),
    ("AuthCtrlr", "AuthorizeRemoteStart", None, "AuthorizeRemoteTxRequests", "boolean"),
    ("AuthCtrlr", "LocalPreAuthorize", None, "LocalPreAuthorize", "boolean"),
    ("AuthCtrlr", "LocalAuthorizeOffline", None, "LocalAuthorizeOffline", "boolean"),
    ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None, "AllowOfflineTxForUnknownId", "boolean"),
    ("TxCtrlr", "StopTxOnInvalidId", None, "StopTransactionOnInvalidId", "boolean"),
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None, "StopTransactionOnEVSideDisconnect", "boolean"),
    ("SmartChargingCtrlr", "ProfileStackLevel", None, "ChargeProfileMaxStackLevel", "integer"),
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None, "ChargingScheduleMaxPeriods", "integer"),
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles", "MaxChargingProfilesInstalled", "integer"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable of one component (of an EVSE / connector when `evse` is set), with its Actual value."""

    component: str
    name: str
    value: str
    data_type: str
    readonly: bool = True
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None
    key: str | None = None  # the 1.6 configuration key behind it (None: a fact of the station)

    def component_json(self) -> dict[str, Any]:
        component: dict[str, Any] = {"name": self.component}
        if self.evse is not None:
            component["evse"] = {"id": self.evse}
            if self.connector is not None:
                component["evse"]["connectorId"] = self.connector
        return component

    def variable_json(self) -> dict[str, Any]:
        variable: dict[str, Any] = {"name": self.name}
        if self.instance is not None:
            variable["instance"] = self.instance
        return variable


def variables(charger: SimCharger) -> list[Variable]:
    """Every variable of the charger now (values read from its template, connectors and settings)."""
    template = charger.template
    vendor, model = (template.vendor, template.model) if template is not None else ("Voltyard", "SimCharger")
    firmware = template.firmware if template is not None else "sim-1.0"
    serial = template.serial_for(charger.charger_id) if template is not None else charger.charger_id[-25:]
    found = [
        Variable("ChargingStation", "VendorName", vendor, "string"),
        Variable("ChargingStation", "Model", model, "string"),
        Variable("ChargingStation", "SerialNumber", serial, "string"),
        Variable("ChargingStation", "FirmwareVersion", firmware, "string"),
        Variable("ChargingStation", "AvailabilityState", _station_state(charger), "OptionList"),
        Variable(
            "DeviceDataCtrlr", "ItemsPerMessage", str(ITEMS_PER_REPORT), "integer", instance="GetReport"
        ),
        Variable("SmartChargingCtrlr", "RateUnit", "A,W", "MemberList"),
    ]
    settings = charger.settings
    for component, name, instance, key, data_type in _BACKED:
        spec_readonly = key in _READONLY_KEYS
        found.append(
            Variable(component, name, settings.get(key), data_type, spec_readonly, instance, key=key)
        )
    specs = template.connectors if template is not None else ()
    for connector in charger.connectors:
        evse = connector.connector_id
        kind = specs[evse - 1].type if evse <= len(specs) else "Type2"
        found.append(Variable("EVSE", "Power", f"{connector.max_w:.0f}", "decimal", evse=evse))
        found.append(Variable("EVSE", "AvailabilityState", connector.status, "OptionList", evse=evse))
        found.append(Variable("Connector", "ConnectorType", kind, "string", evse=evse, connector=1))
        found.append(
            Variable("Connector", "SupplyPhases", str(connector.phases), "integer", evse=evse, connector=1)
        )
    return found


_READONLY_KEYS: Final = frozenset(
    {"ChargeProfileMaxStackLevel", "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"}
)


def _station_state(charger: SimCharger) -> str:
    if all(connector.inoperative for connector in charger.connectors):
        return "Unavailable"
    return "Available"


def find(charger: SimCharger, request: dict[str, Any]) -> tuple[Variable | None, str]:
    """The variable a Get/SetVariables item names, or None and UnknownComponent / UnknownVariable."""
    component = request["component"]
    variable = request["variable"]
    evse = component.get("evse")
    evse_id = evse["id"] if evse is not None else None
    connector_id = evse.get("connectorId") if evse is not None else None
    known_component = False
    for candidate in variables(charger):
        if candidate.component != component["name"] or candidate.evse != evse_id:
            continue
        if connector_id is not None and candidate.connector != connector_id:
            continue
        known_component = True
        if candidate.name == variable["name"] and candidate.instance == variable.get("instance"):
            return candidate, "Accepted"
    return None, "UnknownVariable" if known_component else "UnknownComponent"


def get_result(charger: SimCharger, request: dict[str, Any]) -> dict[str, Any]:
    """One GetVariableResult."""
    found, status = find(charger, request)
    result: dict[str, Any] = {
        "attributeStatus": status,
        "component": request["component"],
        "variable": request["variable"],
    }
    attribute = request.get("attributeType", "Actual")
    if found is not None and attribute != "Actual":
        result["attributeStatus"] = "NotSupportedAttributeType"
    elif found is not None:
        result["attributeType"] = "Actual"
        result["attributeValue"] = found.value[:2500]
    return result


def set_result(charger: SimCharger, request: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """One SetVariableResult, and the 1.6 key that changed (None when nothing did)."""
    found, status = find(charger, request)
    changed = None
    if found is not None:
        if request.get("attributeType", "Actual") != "Actual":
            status = "NotSupportedAttributeType"
        elif found.readonly or found.key is None:
            status = "Rejected"
        else:
            value = str(request["attributeValue"])
            status = charger.settings.change(found.key, value)
            if status == "NotSupported":
                status = "Rejected"
            changed = found.key if status in ("Accepted", "RebootRequired") else None
    result = {"attributeStatus": status, "component": request["component"], "variable": request["variable"]}
    return result, changed


def report_data(found: Variable) -> dict[str, Any]:
    """One ReportData of a NotifyReport."""
    return {
        "component": found.component_json(),
        "variable": found.variable_json(),
        "variableAttribute": [
            {
                "type": "Actual",
                "value": found.value[:2500],
                "mutability": "ReadOnly" if found.readonly else "ReadWrite",
            }
        ],
        "variableCharacteristics": {"dataType": found.data_type, "supportsMonitoring": False},
    }
