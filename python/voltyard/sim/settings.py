"""The charger's configuration store: the OCPP 1.6 keys that GetConfiguration and ChangeConfiguration see.

Defaults live once in `KEYS`, shared by every simulated charger; a charger keeps only the keys that
were changed (by the scenario or by the central system), so ten thousand chargers cost ten thousand
small dicts at most, most of them never created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["KEYS", "KeySpec", "Settings"]

Kind = Literal["bool", "int", "csl", "str"]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One configuration key: its type, default value, and whether the central system may change it.

    `secret` keys (AuthorizationKey) can be written but are never reported by GetConfiguration.
    """

    kind: Kind
    default: str
    readonly: bool = False
    reboot: bool = False
    secret: bool = False
    minimum: int = 0


KEYS: Mapping[str, KeySpec] = {
    # Core profile
    "AllowOfflineTxForUnknownId": KeySpec("bool", "true"),
    "AuthorizationCacheEnabled": KeySpec("bool", "true"),
    "AuthorizeRemoteTxRequests": KeySpec("bool", "false"),
    "ClockAlignedDataInterval": KeySpec("int", "0"),
    "ConnectionTimeOut": KeySpec("int", "60"),
    "GetConfigurationMaxKeys": KeySpec("int", "64", readonly=True),
    "HeartbeatInterval": KeySpec("int", "300"),
    "LocalAuthorizeOffline": KeySpec("bool", "true"),
    "LocalPreAuthorize": KeySpec("bool", "false"),
    "MeterValuesAlignedData": KeySpec("csl", "Energy.Active.Import.Register"),
    "MeterValuesSampledData": KeySpec("csl", "Energy.Active.Import.Register,Power.Active.Import"),
    "MeterValueSampleInterval": KeySpec("int", "60"),
    "NumberOfConnectors": KeySpec("int", "1", readonly=True),
    "ResetRetries": KeySpec("int", "1"),
    "StopTransactionOnEVSideDisconnect": KeySpec("bool", "true"),
    "StopTransactionOnInvalidId": KeySpec("bool", "true"),
    "StopTxnAlignedData": KeySpec("csl", ""),
    "StopTxnSampledData": KeySpec("csl", "Energy.Active.Import.Register"),
    "SupportedFeatureProfiles": KeySpec(
        "csl",
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
        readonly=True,
    ),
    "TransactionMessageAttempts": KeySpec("int", "3"),
    "TransactionMessageRetryInterval": KeySpec("int", "5"),
    "UnlockConnectorOnEVSideDisconnect": KeySpec("bool", "true"),
    "WebSocketPingInterval": KeySpec("int", "0"),
    # Local auth list management
    "LocalAuthListEnabled": KeySpec("bool", "true"),
    "LocalAuthListMaxLength": KeySpec("int", "1000", readonly=True),
    "SendLocalListMaxLength": KeySpec("int", "1000", readonly=True),
    # Reservation
    "ReserveConnectorZeroSupported": KeySpec("bool", "false", readonly=True),
    # Smart charging
    "ChargeProfileMaxStackLevel": KeySpec("int", "10", readonly=True),
    "ChargingScheduleAllowedChargingRateUnit": KeySpec("csl", "Current,Power", readonly=True),
    "ChargingScheduleMaxPeriods": KeySpec("int", "24", readonly=True),
    "MaxChargingProfilesInstalled": KeySpec("int", "16", readonly=True),
    # Security extension
    "SecurityProfile": KeySpec("int", "0", reboot=True),
    "AuthorizationKey": KeySpec("str", "", secret=True),
    "CpoName": KeySpec("str", ""),
    "CertificateStoreMaxLength": KeySpec("int", "16", readonly=True),
    "AdditionalRootCertificateCheck": KeySpec("bool", "false", readonly=True),
}


class Settings:
    """One charger's configuration: the shared defaults plus its own changes."""

    __slots__ = ("_changed", "_connectors")

    def __init__(self, connectors: int, overrides: Mapping[str, str] | None = None) -> None:
        self._connectors = connectors
        self._changed: dict[str, str] | None = dict(overrides) if overrides else None

    def get(self, key: str) -> str:
        if key == "NumberOfConnectors":
            return str(self._connectors)
        changed = self._changed
        if changed is not None and key in changed:
            return changed[key]
        return KEYS[key].default

    def integer(self, key: str) -> int:
        return int(self.get(key))

    def flag(self, key: str) -> bool:
        return self.get(key) == "true"

    def change(self, key: str, value: str) -> str:
        """ChangeConfiguration: Accepted, Rejected, RebootRequired or NotSupported (unknown key)."""
        spec = KEYS.get(key)
        if spec is None:
            return "NotSupported"
        if spec.readonly or not _valid(spec, value):
            return "Rejected"
        if key == "SecurityProfile" and int(value) < self.integer("SecurityProfile"):
            return "Rejected"  # the security extension forbids lowering the profile remotely
        if self._changed is None:
            self._changed = {}
        self._changed[key] = value.lower() if spec.kind == "bool" else value
        return "RebootRequired" if spec.reboot else "Accepted"

    def report(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """The GetConfiguration answer for `keys` (every key when None or empty)."""
        wanted = list(keys or ())
        names = wanted or [name for name, spec in KEYS.items() if not spec.secret]
        known: list[dict[str, Any]] = []
        unknown: list[str] = []
        for name in names:
            spec = KEYS.get(name)
            if spec is None or spec.secret:
                unknown.append(name)
                continue
            known.append({"key": name, "readonly": spec.readonly, "value": self.get(name)})
        answer: dict[str, Any] = {"configurationKey": known}
        if unknown:
            answer["unknownKey"] = unknown
        return answer


def _valid(spec: KeySpec, value: str) -> bool:
    if len(value) > 500:  # CiString500
        return False
    if spec.kind == "bool":
        return value.lower() in ("true", "false")
    if spec.kind == "int":
        try:
            return int(value) >= spec.minimum
        except ValueError:
            return False
    return True
