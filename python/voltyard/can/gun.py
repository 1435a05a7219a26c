"""A gun's connector status as OCPP 1.6 sees it, from what the driver knows of the gun.

The status is a pure function of the gun's inputs (seed 003's transition rules): any fault is
Faulted; a session is Charging while its relay is closed and the EV draws, SuspendedEVSE while the
EV is ready but the relay is open, SuspendedEV otherwise; without a session a plugged EV is
Preparing, or Finishing once a session ended with the EV still plugged; an unplugged gun is
Available (Unavailable when the operator disabled it). So a cleared fault returns the gun to
Available once the EV is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from voltyard.can.listener import ConnectorStatus


@dataclass(frozen=True, slots=True)
class GunInputs:
    plugged: bool
    session_active: bool
    session_ended: bool  # a session ended and the EV has not been unplugged since
    relay_closed: bool  # relay feedback
    ev_ready: bool  # the EV asks for energy (CP C/D, HLC current demand)
    ev_demanding: bool  # ... and a current above zero
    faulted: bool
    unavailable: bool


def connector_status(inputs: GunInputs) -> ConnectorStatus:  # noqa: PLR0911 (a decision table)
    if inputs.faulted:
        return ConnectorStatus.FAULTED
    if inputs.session_active:
        if inputs.relay_closed and inputs.ev_demanding:
            return ConnectorStatus.CHARGING
        if not inputs.relay_closed and inputs.ev_ready:
            return ConnectorStatus.SUSPENDED_EVSE
        return ConnectorStatus.SUSPENDED_EV
    if inputs.unavailable:
        return ConnectorStatus.UNAVAILABLE
    if not inputs.plugged:
        return ConnectorStatus.AVAILABLE
    return ConnectorStatus.FINISHING if inputs.session_ended else ConnectorStatus.PREPARING


class GunStateMachine:
    """The current status; `update` returns the new one when it changed, else None."""

    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status = ConnectorStatus.AVAILABLE

    def update(self, inputs: GunInputs) -> ConnectorStatus | None:
        status = connector_status(inputs)
        if status == self.status:
            return None
        self.status = status
        return status
