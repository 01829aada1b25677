"""The zeep client for the national licence portal, and the one place zeep is imported.

The WSDL comes from the bundled schemas/portal files (network loading is refused), parsed
once per container. Every call gets connect/read timeouts bounded by the time the Lambda has
left, and every outcome is translated into chalicelib.portal.errors: no zeep, requests or
lxml exception, and no raw reply bytes, reach a caller or a log line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.helpers import serialize_object
from zeep.plugins import Plugin
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from chalicelib.portal import mapping
from chalicelib.portal.errors import (
    FieldReason,
    PortalDuplicateError,
    PortalError,
    PortalLicence,
    PortalRejectedError,
    PortalUnavailableError,
    Receipt,
)

WSDL_PATH = Path(__file__).resolve().parent.parent / "schemas" / "portal" / "LicenceService.wsdl"
NAMESPACE = "https://schemas.licence-bridge.ir/portal/v1"
BINDING = f"{{{NAMESPACE}}}LicenceBinding"

Credentials = Callable[[], tuple[str, str]]
_HOSTILE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class Timeouts:
    """Per-call limits (seconds). `margin` is kept back from the Lambda's time left so a
    timed-out call still leaves room to record the outcome."""

    connect: float = 3.0
    read: float = 10.0
    margin: float = 1.0
    minimum: float = 0.2  # below this a call cannot usefully start


class _BoundedTransport(Transport):
    """zeep's Transport with per-call (thread-local) timeouts, no remote WSDL loading and
    no DEBUG dump of bodies (replies may be hostile and requests carry personal data)."""

    def __init__(self, session: requests.Session, default: tuple[float, float]) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            session=session, timeout=default[0], operation_timeout=default[1]
        )
        self._default = default
        self.local = threading.local()

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        timeout = getattr(self.local, "timeout", None) or self._default
        response = self.session.post(address, data=message, headers=headers, timeout=timeout)
        self.local.status = response.status_code
        return response

    def _load_remote_data(self, url: str) -> bytes:
        raise PortalRejectedError("RemoteLoad", "the portal WSDL is bundled; network refused")


class _Capture(Plugin):
    """Keeps the parsed reply envelope so faults are read from the XML itself (zeep's own
    fault parsing misses unqualified children when a default namespace is in scope)."""

    def __init__(self, local: threading.local) -> None:
        self.local = local

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        self.local.envelope = envelope
        return envelope, http_headers


class _SecretUsernameToken:
    """WS-Security UsernameToken (digest, fresh Nonce and Created per request) with the
    credentials read at send time, so a rotated secret applies without a rebuild."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        username, password = self.credentials()
        token = UsernameToken(username, password, use_digest=True)  # type: ignore[no-untyped-call]
        return token.apply(envelope, headers)  # type: ignore[no-any-return,no-untyped-call]

    def verify(self, envelope: Any) -> None:
        return None


def secret_credentials(suffix: str = "portal") -> Credentials:
    """Credentials from Secrets Manager `<prefix>/portal` = {"username", "password"}."""

    def read() -> tuple[str, str]:
        from chalicelib import wiring
        from chalicelib.secrets import SecretUnavailableError

        try:
            value = wiring.secret_store().get_json(suffix)
        except SecretUnavailableError as error:
            raise PortalUnavailableError("Credentials", str(error)) from None
        if not value or "username" not in value or "password" not in value:
            raise PortalUnavailableError(
                "Credentials", "portal secret missing", retry_in_process=False
            )
        return str(value["username"]), str(value["password"])

    return read


@cache
def _document_client(wsdl: str) -> zeep.Client:
    """One parsed WSDL per container; PortalClient instances share its types."""
    return zeep.Client(  # type: ignore[no-untyped-call]
        wsdl, transport=_loader_transport(), settings=_settings()
    )


def _settings() -> zeep.Settings:
    return zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _loader_transport() -> Transport:
    return _BoundedTransport(requests.Session(), (3.0, 10.0))


class PortalClient:
    """register / update / change_status / get, each answering a Receipt (or a record) or
    raising PortalRejectedError / PortalUnavailableError."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        timeouts: Timeouts = Timeouts(),
        session: requests.Session | None = None,
        wsdl: Path = WSDL_PATH,
    ) -> None:
        self.url = url
        self.timeouts = timeouts
        self._transport = _BoundedTransport(
            session or requests.Session(), (timeouts.connect, timeouts.read)
        )
        self._local = self._transport.local
        document = _document_client(str(wsdl)).wsdl
        self._client = zeep.Client(  # type: ignore[no-untyped-call]
            document,
            transport=self._transport,
            settings=_settings(),
            wsse=_SecretUsernameToken(credentials),
            plugins=[_Capture(self._local)],
        )
        self._service = self._client.create_service(BINDING, url)  # type: ignore[no-untyped-call]

    # --- operations ----------------------------------------------------------------

    def register(
        self, record: Mapping[str, Any], request_id: str, *, time_left: float | None = None
    ) -> Receipt:
        reply = self._call("RegisterLicence", time_left, requestId=request_id, licence=record)
        return _receipt(reply, "register")

    def update(
        self,
        portal_licence_id: int,
        record: Mapping[str, Any],
        request_id: str,
        *,
        time_left: float | None = None,
    ) -> Receipt:
        reply = self._call(
            "UpdateLicence",
            time_left,
            requestId=request_id,
            portalLicenceId=portal_licence_id,
            licence=record,
        )
        return _receipt(reply, "update")

    def change_status(
        self,
        portal_licence_id: int,
        *,
        version: int,
        action: str,
        effective_at: datetime,
        request_id: str,
        validity: Mapping[str, date] | None = None,
        reason: str | None = None,
        time_left: float | None = None,
    ) -> Receipt:
        arguments: dict[str, Any] = {
            "requestId": request_id,
            "portalLicenceId": portal_licence_id,
            "version": version,
            "action": action,
            "effectiveAt": mapping.aware_datetime(effective_at, "/effective_at"),
        }
        if reason:
            arguments["reason"] = reason
        if validity:
            arguments["validity"] = dict(validity)
        reply = self._call("ChangeLicenceStatus", time_left, **arguments)
        return _receipt(reply, "change_status")

    def get(
        self,
        request_id: str,
        *,
        portal_licence_id: int | None = None,
        municipal_licence_id: str | None = None,
        time_left: float | None = None,
    ) -> PortalLicence | None:
        """The portal's record, or None when the portal does not hold the licence."""
        key: dict[str, Any] = (
            {"portalLicenceId": portal_licence_id}
            if portal_licence_id is not None
            else {"municipalLicenceId": municipal_licence_id}
        )
        try:
            reply = self._call("GetLicence", time_left, requestId=request_id, **key)
        except PortalRejectedError as error:
            if error.code == "NotFound":
                return None
            raise
        record = _plain(serialize_object(reply.licence, dict))  # type: ignore[no-untyped-call]
        return PortalLicence(
            portal_licence_id=int(reply.portalLicenceId),
            version=int(reply.licence.version),
            status=str(reply.licence.status),
            record=record,
        )

    def render(self, operation: str, **arguments: Any) -> bytes:
        """The request envelope zeep would send, without sending it (golden tests)."""
        envelope = self._client.create_message(  # type: ignore[no-untyped-call]
            self._service, operation, **arguments
        )
        return etree.tostring(envelope, encoding="utf-8")  # type: ignore[no-any-return]

    # --- plumbing ------------------------------------------------------------------

    @contextmanager
    def _bounded(self, time_left: float | None) -> Iterator[None]:
        read = self.timeouts.read
        if time_left is not None:
            read = min(read, time_left - self.timeouts.margin)
            if read < self.timeouts.minimum:
                raise PortalUnavailableError("NoTimeLeft", retry_in_process=False)
        self._local.timeout = (min(self.timeouts.connect, read), read)
        self._local.status = None
        self._local.envelope = None
        try:
            yield
        finally:
            self._local.timeout = None
            self._local.envelope = None

    def _call(self, operation: str, time_left: float | None, **arguments: Any) -> Any:
        with self._bounded(time_left):
            try:
                return getattr(self._service, operation)(**arguments)
            except PortalError:
                raise
            except Exception as error:  # translated: see classify()
                raise classify(
                    error, getattr(self._local, "status", None), self._local.envelope
                ) from None


def classify(error: BaseException, status: int | None, envelope: Any) -> PortalError:
    """One of our errors for whatever a call raised. `status` is the HTTP status (None when
    nothing was received), `envelope` the parsed reply if it was XML."""
    if isinstance(error, requests.Timeout):
        return PortalUnavailableError("Timeout", type(error).__name__)
    if isinstance(error, requests.RequestException):
        return PortalUnavailableError("ConnectionError", type(error).__name__)
    if isinstance(error, zeep.exceptions.DTDForbidden | zeep.exceptions.EntitiesForbidden):
        # Hostile or broken: never retried, never logged raw.
        return PortalRejectedError("HostileReply", type(error).__name__)
    if isinstance(error, zeep.exceptions.Fault):
        return _classify_fault(error, status, envelope)
    if isinstance(error, zeep.exceptions.TransportError):
        if _HOSTILE.search(bytes(error.content or b"")[:65536]):
            # libxml2 may stop an entity bomb itself before zeep's own check runs.
            return PortalRejectedError("HostileReply", "DTD or entity declarations")
        code = int(error.status_code or 0)
        if code >= 500 or code in (401, 403, 404, 407, 408, 429):
            return PortalUnavailableError(f"HTTP{code}", retry_in_process=code >= 500)
        return PortalRejectedError("UnparseableReply", f"HTTP {code}")
    if isinstance(error, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError):
        return PortalRejectedError("UnparseableReply", type(error).__name__)
    if isinstance(error, zeep.exceptions.ValidationError):
        if status is None:  # our request did not fit the contract: never sent
            return PortalRejectedError("RequestInvalid", _short(error))
        return PortalRejectedError("UnparseableReply", "reply does not match the contract")
    if isinstance(error, etree.LxmlError):
        return PortalRejectedError("UnparseableReply", type(error).__name__)
    return PortalUnavailableError("Unexpected", type(error).__name__, retry_in_process=False)


def _classify_fault(error: Any, status: int | None, envelope: Any) -> PortalError:
    fault = _find_local(envelope, "Fault") if envelope is not None else None
    if fault is None:
        # A 5xx with a non-SOAP XML body (a gateway's error page): the portal is unwell.
        if status is not None and status >= 500:
            return PortalUnavailableError(f"HTTP{status}")
        return PortalRejectedError("UnparseableReply", "no SOAP fault in an error reply")
    faultcode = _text_local(fault, "faultcode") or ""
    faultstring = _text_local(fault, "faultstring") or ""
    detail = _find_local(fault, "detail", direct=True)
    kind = None
    body = None
    if detail is not None:
        body = next((child for child in detail if isinstance(child.tag, str)), None)
        if body is not None:
            kind = etree.QName(body).localname
    message = (_text_local(body, "message") if body is not None else None) or faultstring
    if kind == "ValidationFault" and body is not None:
        reasons = tuple(
            FieldReason(
                field=_text_local(item, "field") or "",
                code=_text_local(item, "code") or "",
                message=_text_local(item, "message") or "",
            )
            for item in body
            if isinstance(item.tag, str) and etree.QName(item).localname == "fieldError"
        )
        return PortalRejectedError("Validation", message, reasons)
    if kind == "NotFoundFault":
        return PortalRejectedError("NotFound", message)
    if kind == "DuplicateRequestFault" and body is not None:
        existing = _text_local(body, "existingPortalLicenceId")
        return PortalDuplicateError(message, int(existing) if existing else None)
    if kind in ("BusyFault", "UnavailableFault") and body is not None:
        after = _text_local(body, "retryAfterSeconds")
        return PortalUnavailableError(
            kind.removesuffix("Fault"),
            message,
            retry_after_seconds=float(after) if after else None,
        )
    if kind == "AuthenticationFault":
        return PortalUnavailableError("Authentication", message, retry_in_process=False)
    # A fault we cannot read further: SOAP 1.1 says Client = the sender's fault.
    local_code = faultcode.rsplit(":", 1)[-1].split(".", 1)[0]
    if local_code == "Client":
        return PortalRejectedError("ClientFault", message)
    return PortalUnavailableError("ServerFault", message)


def _find_local(element: Any, name: str, *, direct: bool = False) -> Any:
    candidates = element if direct else element.iter()
    for child in candidates:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _text_local(element: Any, name: str) -> str | None:
    if element is None:
        return None
    child = _find_local(element, name, direct=True)
    if child is None or child.text is None:
        return None
    return str(child.text).strip()


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def _receipt(reply: Any, operation: str) -> Receipt:
    return Receipt(
        portal_licence_id=int(reply.portalLicenceId),
        version=int(reply.version),
        status=str(reply.status),
        operation=operation,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def build_client(
    url: str,
    credentials: Credentials | None = None,
    *,
    timeouts: Timeouts = Timeouts(),
) -> PortalClient:
    """A client for `url`; credentials default to the stage's Secrets Manager secret."""
    return PortalClient(url, credentials or secret_credentials(), timeouts=timeouts)


@cache
def portal_client() -> PortalClient:
    """The container's client, for the stage's PORTAL_URL (built on first use)."""
    from chalicelib import wiring

    return build_client(wiring.settings().portal_url)
