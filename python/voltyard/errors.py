"""Every error Voltyard raises, in one hierarchy rooted at `VoltyardError`.

The Rust extension raises these classes too (`voltyard._native` imports them by name), so that a
frame refused by the native decoder surfaces as, say, a `FormationViolationError` whose `code` is
the OCPP-J 1.6 CALLERROR code to answer with.
"""

from __future__ import annotations

from typing import ClassVar


class VoltyardError(Exception):
    """Root of every error Voltyard raises."""


class OcppError(VoltyardError):
    """A frame or payload refused under OCPP-J; `code` is the CALLERROR code to send back, in the
    spelling of the frame's version (1.6, or 2.0.1 and 2.1).

    Attributes:
        description: What was wrong and where (a JSON pointer into the payload for schema errors).
        message_id: The frame's message id when it could be read, else None.
        action: The action of the CALL (or the one a CALLRESULT answers) when known, else None.
        message_type: The frame's MessageTypeId (2, 3 or 4; 2.1 also 5 and 6) when readable and
            of the version; only a CALL (2) is answered with a CALLERROR.
    """

    code: ClassVar[str] = "GenericError"

    def __init__(
        self,
        description: str,
        message_id: str | None = None,
        action: str | None = None,
        message_type: int | None = None,
    ) -> None:
        super().__init__(description, message_id, action, message_type)
        self.description = description
        self.message_id = message_id
        self.action = action
        self.message_type = message_type

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class ActionNotImplementedError(OcppError):
    """The action is not an OCPP 1.6 action."""

    code = "NotImplemented"


class ActionNotSupportedError(OcppError):
    """The action is known but not supported by this side."""

    code = "NotSupported"


class OcppInternalError(OcppError):
    """The receiver failed while handling the action."""

    code = "InternalError"


class ProtocolError(OcppError):
    """The payload is incomplete."""

    code = "ProtocolError"


class OcppSecurityError(OcppError):
    """A security issue prevented the action."""

    code = "SecurityError"


class FormationViolationError(OcppError):
    """The frame is not JSON, not an OCPP-J envelope, or its payload not the PDU's structure."""

    code = "FormationViolation"


class PropertyConstraintViolationError(OcppError):
    """A field holds a value outside its allowed values or range."""

    code = "PropertyConstraintViolation"


class OccurenceConstraintViolationError(OcppError):
    """A field occurs too few or too many times (OCPP 1.6 spells it with one "r")."""

    code = "OccurenceConstraintViolation"


class TypeConstraintViolationError(OcppError):
    """A field has the wrong data type or length."""

    code = "TypeConstraintViolation"


class GenericOcppError(OcppError):
    """Any other OCPP error."""

    code = "GenericError"


class FormatViolationError(FormationViolationError):
    """2.x spelling: the frame is not JSON or its payload not the message's structure."""

    code = "FormatViolation"


class OccurrenceConstraintViolationError(OccurenceConstraintViolationError):
    """2.x spelling: a field occurs too few or too many times."""

    code = "OccurrenceConstraintViolation"


class MessageTypeNotSupportedError(OcppError):
    """2.x: a MessageTypeId the version does not have (2.0.1: 5 and 6, which are 2.1's)."""

    code = "MessageTypeNotSupported"


class RpcFrameworkError(OcppError):
    """2.x: JSON that is not an RPC frame (not an array, wrong length, unreadable message id)."""

    code = "RpcFrameworkError"


OCPP_ERRORS_BY_CODE: dict[str, type[OcppError]] = {
    cls.code: cls
    for cls in (
        ActionNotImplementedError,
        ActionNotSupportedError,
        OcppInternalError,
        ProtocolError,
        OcppSecurityError,
        FormationViolationError,
        PropertyConstraintViolationError,
        OccurenceConstraintViolationError,
        TypeConstraintViolationError,
        GenericOcppError,
        FormatViolationError,
        OccurrenceConstraintViolationError,
        MessageTypeNotSupportedError,
        RpcFrameworkError,
    )
}


class SchemaLoadError(VoltyardError):
    """The OCPP JSON schemas could not be found, read or compiled."""


class FrameEncodeError(VoltyardError, ValueError):
    """A frame could not be written: bad message id, empty action, or a payload that is not JSON."""


class CanFrameError(VoltyardError, ValueError):
    """A CAN frame the PLC codec refused, or frame values it cannot encode.

    Attributes:
        description: What was wrong and where (the ID, the message and signal).
        arbitration_id: The ID of the refused frame when the error is about a received frame.
    """

    def __init__(self, description: str, arbitration_id: int | None = None) -> None:
        super().__init__(description, arbitration_id)
        self.description = description
        self.arbitration_id = arbitration_id

    def __str__(self) -> str:
        return self.description


class CanPayloadError(CanFrameError):
    """A CAN payload of the wrong length."""


class ConfigError(VoltyardError, ValueError):
    """A configuration file or option is missing, unreadable or holds a bad value; names file and key."""


class StoreError(VoltyardError):
    """The store (SQLite or PostgreSQL) could not be opened, migrated or written."""


class StoreUnreachableError(StoreError):
    """The PostgreSQL server of `[store] dsn` cannot be reached or refuses the login at start.

    `voltyard serve` exits 2 on it (as on a configuration error), with one line naming the URL (its
    password redacted): a supervisor's restart loop should not hide a wrong URL or a server that is down."""


class StoreUnusableError(StoreError):
    """A store this build must not use: damaged pages, not a database, or a newer schema version.

    `voltyard serve` exits 2 on it (as on a configuration error): restarting cannot help, an operator must
    act (restore a backup, move the file aside, run the newer version)."""


class LogBlockError(StoreError, ValueError):
    """A stored message-log block cannot be read (truncated, corrupt or declaring an absurd size)."""


class CommandError(VoltyardError):
    """A CSMS-initiated call did not produce a valid answer from the charger."""


class ChargerOfflineError(CommandError):
    """The charger is not connected (or not yet booted and accepted) and the call could not be sent."""


class CommandTimeoutError(CommandError, TimeoutError):
    """The charger did not answer the call within its timeout."""


class CallErrorReceivedError(CommandError):
    """The charger answered the call with a CALLERROR.

    Attributes:
        code: The CALLERROR code the charger sent.
        description: The charger's description.
        details: The charger's errorDetails object.
    """

    def __init__(self, code: str, description: str, details: dict[str, object]) -> None:
        super().__init__(f"the charger answered {code}: {description}")
        self.code = code
        self.description = description
        self.details = details


class InvalidCommandError(CommandError, ValueError):
    """The request payload, or the charger's answer, does not satisfy the OCPP 1.6 schema."""


class NodeLostError(CommandError):
    """Cluster: the node that held the charger went away (its lease expired, or it stopped listening) while
    the call was routed to it or waited for its answer."""


class ClusterError(VoltyardError):
    """Cluster: the Redis bus is unreachable or failed; the message names the URL (password redacted).

    `voltyard serve` exits 2 on it at start, as on a configuration error."""


class ClusterUnavailableError(ClusterError, CommandError):
    """Cluster: a routed call could not be sent or answered because Redis is unreachable right now."""


class StaleLeaseError(ClusterError):
    """Cluster: a write fenced with a lease token older than the newest one seen (a stale singleton)."""


class PlannerError(VoltyardError, ValueError):
    """The planner refused its snapshot, or the previous plan given with it.

    Attributes:
        field: The offending field's path in the snapshot, as `guns[3].max_power_kw`
            (`previous.guns` or `previous.slots` when the previous plan was made for another ring).
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class CanUnknownIdError(CanFrameError):
    """An arbitration ID that is not a message of the PLC contract (configs/plc.dbc)."""


class CanCrcError(CanFrameError):
    """A frame whose byte 7 is not the CRC-8 of bytes 0-6."""


class CanMuxError(CanFrameError):
    """A multiplexed frame with a multiplexer value the contract does not define."""


class CanSignalRangeError(CanFrameError):
    """A signal value (or a plcId) that does not fit its bits."""


class CanCommError(VoltyardError):
    """The CAN link or a PLC did not behave as the contract requires."""


class CanBusError(CanCommError, OSError):
    """The CAN bus could not be opened or failed while in use."""


class CanCommTimeoutError(CanCommError, TimeoutError):
    """A PLC did not answer in time (a ConfigCmd without its ConfigAck)."""


class CanConfigRejectedError(CanCommError):
    """A PLC answered a ConfigCmd with a status other than OK; `status` is the DBC's name of it."""

    def __init__(self, description: str, status: str) -> None:
        super().__init__(description, status)
        self.status = status

    def __str__(self) -> str:
        return str(self.args[0])


class CabinetConfigError(ConfigError):
    """A bad value in the DC cabinet's configuration; `key` is its dotted path (`guns[1].plc_id`)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
