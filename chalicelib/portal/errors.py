"""What a portal call can end in, as our own types: callers never see zeep or tenacity.

Exactly one of: a receipt (success), `PortalRejectedError` (permanent: the portal or our
mapping refuses this record; retrying the same record cannot help) or
`PortalUnavailableError` (transient: the portal, the network or our credentials are at fault,
so the same record may go through later).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldReason:
    """One field the portal (or our mapping) refused, with its Persian message kept verbatim."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class PortalError(Exception):
    """Base of every portal outcome that is not a success."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class PortalRejectedError(PortalError):
    """Permanent: not retried. `reasons` are the portal's own (Persian) field errors."""

    def __init__(self, code: str, detail: str = "", reasons: tuple[FieldReason, ...] = ()) -> None:
        super().__init__(code, detail)
        self.reasons = reasons


class PortalDuplicateError(PortalRejectedError):
    """The licence is already registered under `existing_portal_licence_id` (if given)."""

    def __init__(self, detail: str, existing_portal_licence_id: int | None) -> None:
        super().__init__("DuplicateRequest", detail)
        self.existing_portal_licence_id = existing_portal_licence_id


class PortalUnavailableError(PortalError):
    """Transient. `retry_in_process` is False where an immediate retry cannot help
    (authentication: the credentials must be rotated first)."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        retry_in_process: bool = True,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(code, detail)
        self.retry_in_process = retry_in_process
        self.retry_after_seconds = retry_after_seconds


class MappingError(PortalRejectedError):
    """Our canonical record cannot be rendered in the portal's contract (never sent)."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__("Mapping", message, (FieldReason(field_path, "mapping", message),))


@dataclass(frozen=True)
class Receipt:
    """What the portal answered to a register, update or status change."""

    portal_licence_id: int
    version: int
    status: str
    operation: str


@dataclass(frozen=True)
class PortalLicence:
    """The portal's current record (GetLicence), as plain data."""

    portal_licence_id: int
    version: int
    status: str
    record: dict[str, object] = field(default_factory=dict)
