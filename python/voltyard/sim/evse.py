"""The EVSE state machine of one simulated connector (OCPP 1.6 ChargePointStatus), free of I/O.

The status is derived from a few physical and contractual facts (cable plugged, session running, EV
pausing, power limit, fault, availability, reservation) rather than stored, so that no combination of
events can leave a status that contradicts the facts. Events check their preconditions and raise
`TransitionError` when the current state forbids them; each returns the new status when it changed
(the charger then sends a StatusNotification) or None.
"""

from __future__ import annotations

from typing import Final

from voltyard.sim.errors import TransitionError

__all__ = [
    "AVAILABLE",
    "CHARGING",
    "FAULTED",
    "FINISHING",
    "PREPARING",
    "RESERVED",
    "STATUSES",
    "SUSPENDED_EV",
    "SUSPENDED_EVSE",
    "UNAVAILABLE",
    "Evse",
    "Reservation",
    "Session",
]

AVAILABLE: Final = "Available"
PREPARING: Final = "Preparing"
CHARGING: Final = "Charging"
SUSPENDED_EV: Final = "SuspendedEV"
SUSPENDED_EVSE: Final = "SuspendedEVSE"
FINISHING: Final = "Finishing"
RESERVED: Final = "Reserved"
UNAVAILABLE: Final = "Unavailable"
FAULTED: Final = "Faulted"
STATUSES: Final = (
    AVAILABLE, PREPARING, CHARGING, SUSPENDED_EV, SUSPENDED_EVSE, FINISHING, RESERVED, UNAVAILABLE, FAULTED,
)  # fmt: skip

# Below this the EV cannot draw: the EVSE has suspended the session (a 0 A or 0 W profile period).
_MIN_CHARGING_W: Final = 1.0


class Session:
    """One charging session; `transaction_id` arrives with the StartTransaction answer (maybe much later).

    Under OCPP 2.x the charger makes the transaction id itself (a string, set when the session begins),
    numbers the session's TransactionEvents with `seq_no`, and remembers the RequestStartTransaction's
    `remote_start_id` and the IdToken's type for its events.
    """

    __slots__ = (
        "id_tag",
        "meter_start",
        "remote_start_id",
        "reservation_id",
        "seq_no",
        "started",
        "stop_reason",
        "token_type",
        "transaction_id",
    )

    def __init__(
        self, id_tag: str, meter_start: int, started: str, reservation_id: int | None = None
    ) -> None:
        self.id_tag = id_tag
        self.meter_start = meter_start
        self.started = started
        self.reservation_id = reservation_id
        self.transaction_id: int | str | None = None
        self.stop_reason: str | None = None
        self.seq_no = 0  # the next TransactionEvent's seqNo (2.x)
        self.remote_start_id: int | None = None
        self.token_type = "ISO14443"


class Reservation:
    """A ReserveNow accepted for this connector."""

    __slots__ = ("expiry", "id_tag", "parent_id_tag", "reservation_id")

    def __init__(self, reservation_id: int, id_tag: str, expiry: float, parent_id_tag: str | None) -> None:
        self.reservation_id = reservation_id
        self.id_tag = id_tag
        self.expiry = expiry
        self.parent_id_tag = parent_id_tag


class Evse:
    """One connector's facts and the status derived from them."""

    __slots__ = (
        "connector_id",
        "error_code",
        "ev_suspended",
        "faulted",
        "finished",
        "inoperative",
        "limit_w",
        "plugged",
        "reservation",
        "scheduled_inoperative",
        "session",
        "status",
    )

    def __init__(self, connector_id: int) -> None:
        self.connector_id = connector_id
        self.plugged = False
        self.session: Session | None = None
        self.finished = False  # a session ended while the cable is still in: Finishing until unplugged
        self.ev_suspended = False
        self.limit_w: float | None = None  # None: no charging profile limits this connector
        self.faulted = False
        self.error_code = "NoError"
        self.inoperative = False
        self.scheduled_inoperative = False  # ChangeAvailability(Inoperative) answered Scheduled
        self.reservation: Reservation | None = None
        self.status: str = AVAILABLE

    def derive(self) -> str:  # noqa: PLR0911 - one return per status reads as the table it is
        """The ChargePointStatus the facts imply."""
        if self.faulted:
            return FAULTED
        if self.session is not None:
            if self.ev_suspended:
                return SUSPENDED_EV
            if self.limit_w is not None and self.limit_w < _MIN_CHARGING_W:
                return SUSPENDED_EVSE
            return CHARGING
        if self.inoperative:
            return UNAVAILABLE
        if self.plugged:
            return FINISHING if self.finished else PREPARING
        if self.reservation is not None:
            return RESERVED
        return AVAILABLE

    def _update(self) -> str | None:
        status = self.derive()
        if status == self.status:
            return None
        self.status = status
        return status

    def _refuse(self, event: str) -> TransitionError:
        return TransitionError(self.connector_id, self.status, event)

    # --- driver and EV -------------------------------------------------------------------------

    def plug(self) -> str | None:
        if self.plugged or self.faulted or self.inoperative:
            raise self._refuse("plug")
        self.plugged = True
        self.finished = False
        return self._update()

    def unplug(self) -> str | None:
        if not self.plugged or self.session is not None:
            raise self._refuse("unplug")
        self.plugged = False
        self.finished = False
        return self._update()

    def can_start(self, id_tag: str) -> bool:
        """Whether a session for `id_tag` may begin now (a reservation admits only its own tag)."""
        if self.faulted or self.inoperative or self.session is not None:
            return False
        reservation = self.reservation
        return reservation is None or id_tag in (reservation.id_tag, reservation.parent_id_tag)

    def begin(self, session: Session) -> str | None:
        """Energy flows (or is about to): the EV is plugged and the tag authorised."""
        if not self.can_start(session.id_tag):
            raise self._refuse("start a session")
        self.plugged = True
        self.finished = False
        self.ev_suspended = False
        self.reservation = None
        self.session = session
        return self._update()

    def end(self, reason: str) -> tuple[Session, str | None]:
        """The session ends; the connector shows Finishing until unplugged (or Unavailable if scheduled)."""
        session = self.session
        if session is None:
            raise self._refuse("stop a session")
        session.stop_reason = reason
        self.session = None
        self.ev_suspended = False
        self.finished = self.plugged
        if self.scheduled_inoperative:
            self.scheduled_inoperative = False
            self.inoperative = True
        return session, self._update()

    def suspend_ev(self, suspended: bool) -> str | None:
        if self.session is None:
            raise self._refuse("suspend" if suspended else "resume")
        self.ev_suspended = suspended
        return self._update()

    # --- EVSE side -----------------------------------------------------------------------------

    def set_limit(self, limit_w: float | None) -> str | None:
        self.limit_w = limit_w
        return self._update()

    def fault(self, error_code: str) -> str | None:
        """A fault; any session must have been ended first (the charger stops it)."""
        if self.session is not None or error_code == "NoError":
            raise self._refuse(f"fault {error_code}")
        self.faulted = True
        self.error_code = error_code
        return self._update()

    def clear_fault(self) -> str | None:
        if not self.faulted:
            raise self._refuse("clear a fault")
        self.faulted = False
        self.error_code = "NoError"
        return self._update()

    def set_operative(self, operative: bool) -> tuple[str, str | None]:
        """ChangeAvailability: (Accepted | Scheduled, new status); a running session defers Inoperative."""
        if operative:
            self.inoperative = self.scheduled_inoperative = False
            return "Accepted", self._update()
        if self.session is not None:
            self.scheduled_inoperative = True
            return "Scheduled", None
        self.inoperative = True
        self.reservation = None
        return "Accepted", self._update()

    def reserve(self, reservation: Reservation) -> tuple[str, str | None]:
        """ReserveNow: (ReservationStatus, new status); the same reservation id replaces the old one."""
        if self.faulted:
            return "Faulted", None
        if self.inoperative:
            return "Unavailable", None
        current = self.reservation
        if self.session is not None or self.plugged:
            return "Occupied", None
        if current is not None and current.reservation_id != reservation.reservation_id:
            return "Occupied", None
        self.reservation = reservation
        return "Accepted", self._update()

    def cancel_reservation(self) -> str | None:
        self.reservation = None
        return self._update()
