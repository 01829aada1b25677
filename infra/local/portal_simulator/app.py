"""The simulator's WSGI app: SOAP 1.1 over HTTP for schemas/portal/LicenceService.wsdl.

Every request body is validated against the contract's own XSDs (the body element against
licence.xsd, the Security header against wsse.xsd) before anything else, so a client that
passes here speaks the contract. Faults are injected by `Faults`, changed while running
through the admin endpoint.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.wrappers import Request, Response

from infra.local.portal_simulator import replies
from infra.local.portal_simulator.registry import Answer, Entry, Registry, canonical_digest

SCHEMAS = Path(__file__).resolve().parents[3] / "chalicelib" / "schemas" / "portal"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TNS = replies.TNS
SOAP_ENV = replies.SOAP_ENV
SOAP_PATH = "/portal/licence"
CREATED_WINDOW = timedelta(minutes=5)

_ACTION_FROM = {
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
    "revoke": ({"active", "suspended"}, "revoked"),
    "cancel": ({"applied", "under_review", "approved", "active", "suspended"}, "cancelled"),
    "expire": ({"active", "suspended"}, "expired"),
    "renew": ({"active"}, "active"),
}
_STATUS_FA = {
    "applied": "درخواست‌شده",
    "under_review": "در حال بررسی",
    "approved": "تأییدشده",
    "active": "فعال",
    "suspended": "تعلیق‌شده",
    "revoked": "ابطال‌شده",
    "cancelled": "لغوشده",
    "expired": "منقضی‌شده",
}


@dataclass
class Faults:
    """What the simulator does wrong, on purpose. All settable while running."""

    error_rate: float = 0.0
    fault_codes: list[str] = field(default_factory=lambda: ["Busy"])
    latency_ms: int = 0
    stall_rate: float = 0.0
    stall_max_s: float = 120.0
    down_until: float = 0.0  # time.monotonic() deadline of a down window (503s)
    script: list[str] = field(default_factory=list)  # one outcome per request, consumed first
    seed: int | None = None

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["down_for_s"] = max(0.0, round(self.down_until - time.monotonic(), 3))
        del data["down_until"]
        return data


class PortalSimulator:
    def __init__(self, username: str, password: str, faults: Faults | None = None) -> None:
        self.username = username
        self.password = password
        self.faults = faults or Faults()
        self.registry = Registry()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        self._body_schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "licence.xsd"), parser))
        self._header_schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "wsse.xsd"), parser))

    # --- admin -----------------------------------------------------------------------

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for key, value in changes.items():
                if key == "down_for_s":
                    self.faults.down_until = time.monotonic() + float(value)
                elif key == "reset":
                    if value:
                        self.registry.reset()
                elif key == "fault_codes":
                    unknown = set(value) - set(replies.FAULT_CODES)
                    if unknown:
                        raise ValueError(f"unknown fault codes {sorted(unknown)}")
                    self.faults.fault_codes = list(value)
                elif key == "script":
                    unknown = set(value) - set(replies.FAULT_CODES) - {"stall", "ok"}
                    if unknown:
                        raise ValueError(f"unknown script steps {sorted(unknown)}")
                    self.faults.script = list(value)
                elif key in ("error_rate", "stall_rate", "stall_max_s"):
                    setattr(self.faults, key, float(value))
                elif key == "latency_ms":
                    self.faults.latency_ms = int(value)
                elif key == "seed":
                    self._random.seed(value)
                else:
                    raise ValueError(f"unknown setting {key}")
            return self.faults.public()

    def state(self) -> dict[str, Any]:
        data = self.registry.snapshot()
        with self._lock:
            data["faults"] = self.faults.public()
        return data

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == SOAP_PATH and request.method == "GET" and "wsdl" in request.args:
            return self._wsdl(request)
        if path.startswith("/portal/") and path.endswith(".xsd") and request.method == "GET":
            name = path.rsplit("/", 1)[-1]
            if name in ("licence.xsd", "wsse.xsd", "wsu.xsd"):
                return Response((SCHEMAS / name).read_bytes(), content_type="text/xml")
        if path == SOAP_PATH and request.method == "POST":
            return self._soap(request)
        if path == "/admin" and request.method == "GET":
            return _json(self.state())
        if path == "/admin" and request.method == "POST":
            try:
                return _json(self.configure(json.loads(request.get_data() or b"{}")))
            except (ValueError, TypeError) as error:
                return _json({"error": str(error)}, 400)
        if path == "/admin/ui":
            return Response(self._html(), content_type="text/html; charset=utf-8")
        return Response("not found", status=404)

    def _wsdl(self, request: Request) -> Response:
        text = (SCHEMAS / "LicenceService.wsdl").read_text(encoding="utf-8")
        url = request.host_url.rstrip("/") + SOAP_PATH
        text = re.sub(r'location="[^"]*"', f'location="{url}"', text)
        return Response(text, content_type="text/xml; charset=utf-8")

    # --- SOAP ------------------------------------------------------------------------

    def _soap(self, request: Request) -> Response:
        self.registry.count("http_requests")
        step = self._next_step()
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        if time.monotonic() < self.faults.down_until:
            self.registry.count("down")
            return Response(
                "<html><body>503 down for maintenance</body></html>", 503, content_type="text/html"
            )
        if step == "stall":
            self.registry.count("stalls")
            # Accept and never answer: hold until the client gives up (or we stop).
            self.stopping.wait(self.faults.stall_max_s)
            return Response(b"", status=504)
        if step not in (None, "ok"):
            self.registry.count(f"injected:{step}")
            status, content_type, body = replies.injected(step)
            return Response(body, status=status, content_type=content_type)
        status, body = self._answer(request.get_data())
        return Response(body, status=status, content_type="text/xml; charset=utf-8")

    def _next_step(self) -> str | None:
        with self._lock:
            if self.faults.script:
                return self.faults.script.pop(0)
            roll = self._random.random()
            if roll < self.faults.stall_rate:
                return "stall"
            if roll < self.faults.stall_rate + self.faults.error_rate:
                return self._random.choice(self.faults.fault_codes)
        return None

    def _answer(self, data: bytes) -> tuple[int, bytes]:
        parser = etree.XMLParser(
            no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
        )
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            return 500, replies.fault(
                "ValidationFault",
                "XML نامعتبر است.",
                field_errors=(("/", "xml", "XML نامعتبر است."),),
            )
        if root.getroottree().docinfo.doctype:
            return 500, replies.fault(
                "ValidationFault",
                "DTD پذیرفته نیست.",
                field_errors=(("/", "dtd", "DTD پذیرفته نیست."),),
            )
        header = root.find(f"{{{SOAP_ENV}}}Header")
        body = root.find(f"{{{SOAP_ENV}}}Body")
        if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None or len(body) != 1:
            return 500, replies.fault(
                "ValidationFault",
                "پاکت SOAP نامعتبر است.",
                field_errors=(("/Envelope", "soap", "پاکت SOAP نامعتبر است."),),
            )
        auth = self._authenticate(header)
        if auth is not None:
            self.registry.count("auth_failures")
            return 500, replies.fault("AuthenticationFault", auth)
        payload = copy.deepcopy(body[0])
        if not self._body_schema.validate(payload):
            errors = tuple(
                (_path(e.path), "schema", f"با قرارداد مطابقت ندارد: {e.message}")
                for e in list(self._body_schema.error_log)[:20]
            )
            self.registry.count("schema_rejections")
            return 500, replies.fault("ValidationFault", replies.FA_VALIDATION, field_errors=errors)
        operation = etree.QName(payload).localname.removesuffix("Request")
        self.registry.count(operation)
        request_id = _text(payload, "requestId")
        digest = canonical_digest(payload)
        with self.registry.lock:
            previous = self.registry.answers.get(request_id)
            if previous is not None:
                self.registry.count("replayed")
                if previous.operation == operation and previous.body_digest == digest:
                    return previous.status, previous.reply
                return 500, replies.fault(
                    "DuplicateRequestFault",
                    replies.FA_DUPLICATE,
                    children=(("requestId", request_id),),
                )
            handler = getattr(self, f"_op_{operation}")
            status, reply = handler(payload, request_id)
            if operation != "GetLicence" and not _is_transient(reply):
                self.registry.answers[request_id] = Answer(operation, digest, status, reply)
            return status, reply

    def _authenticate(self, header: Any) -> str | None:
        security = header.find(f"{{{WSSE}}}Security") if header is not None else None
        if security is None:
            return "سرآیند WS-Security وجود ندارد."
        if not self._header_schema.validate(copy.deepcopy(security)):
            return "توکن کاربری ناقص است (Nonce و Created الزامی است)."
        token = security.find(f"{{{WSSE}}}UsernameToken")
        username = token.findtext(f"{{{WSSE}}}Username") or ""
        password = token.find(f"{{{WSSE}}}Password")
        nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return "زمان ایجاد توکن نامعتبر است."
        if when.tzinfo is None:
            return "زمان ایجاد توکن باید منطقهٔ زمانی داشته باشد."
        if abs(datetime.now(UTC) - when) > CREATED_WINDOW:
            return "توکن منقضی شده است."
        kind = (password.get("Type") or "").rsplit("#", 1)[-1]
        given = password.text or ""
        if kind == "PasswordDigest":
            try:
                raw_nonce = base64.b64decode(nonce, validate=True)
            except ValueError:
                return "Nonce نامعتبر است."
            expected = base64.b64encode(
                hashlib.sha1(raw_nonce + created.encode() + self.password.encode()).digest()  # noqa: S324 - the WSS profile's digest
            ).decode()
        else:
            expected = self.password
        if not (
            hmac.compare_digest(username.encode(), self.username.encode())
            and hmac.compare_digest(given.encode(), expected.encode())
        ):
            return replies.FA_AUTH
        if self.registry.nonce_seen(nonce, time.time()):
            return "Nonce تکراری است."
        return None

    # --- operations (called under the registry lock) ----------------------------------

    def _op_RegisterLicence(self, payload: Any, request_id: str) -> tuple[int, bytes]:
        licence = payload.find(f"{{{TNS}}}licence")
        problems = _business_problems(licence)
        if problems:
            return 500, replies.fault(
                "ValidationFault", replies.FA_VALIDATION, field_errors=problems
            )
        municipal_id = _text(licence, "municipalLicenceId")
        existing = self.registry.find(municipal_id=municipal_id)
        if existing is not None:
            return 500, replies.fault(
                "DuplicateRequestFault",
                "این مجوز پیش‌تر در درگاه ملی ثبت شده است.",
                children=(
                    ("requestId", request_id),
                    ("existingPortalLicenceId", existing.portal_id),
                ),
            )
        now = replies.now_text()
        entry = Entry(
            portal_id=self.registry.next_id(),
            municipal_id=municipal_id,
            licence=copy.deepcopy(licence),
            version=int(_text(licence, "version")),
            status=_text(licence, "status"),
            licence_type=_text(licence, "licenceType"),
            registered_at=now,
            updated_at=now,
            operations=[f"register:{request_id}"],
        )
        self.registry.add(entry)
        return 200, replies.envelope(
            replies.element(
                "RegisterLicenceResponse",
                ("requestId", request_id),
                ("portalLicenceId", entry.portal_id),
                ("version", entry.version),
                ("status", entry.status),
                ("registeredAt", now),
            )
        )

    def _op_UpdateLicence(self, payload: Any, request_id: str) -> tuple[int, bytes]:
        portal_id = int(_text(payload, "portalLicenceId"))
        licence = payload.find(f"{{{TNS}}}licence")
        entry = self.registry.find(portal_id=portal_id)
        if entry is None:
            return 500, _not_found(portal_id)
        if _text(licence, "municipalLicenceId") != entry.municipal_id:
            return 500, replies.fault(
                "ValidationFault",
                replies.FA_VALIDATION,
                field_errors=(
                    (
                        "licence/municipalLicenceId",
                        "mismatch",
                        "شناسهٔ شهرداری با مجوز ثبت‌شده یکی نیست.",
                    ),
                ),
            )
        problems = _business_problems(licence)
        if problems:
            return 500, replies.fault(
                "ValidationFault", replies.FA_VALIDATION, field_errors=problems
            )
        version = int(_text(licence, "version"))
        if version > entry.version:  # older or equal versions never regress the portal
            entry.licence = copy.deepcopy(licence)
            entry.version = version
            entry.status = _text(licence, "status")
            entry.updated_at = replies.now_text()
            entry.operations.append(f"update:{request_id}")
        else:
            entry.operations.append(f"update-ignored:{request_id}")
        return 200, replies.envelope(_changed("UpdateLicenceResponse", request_id, entry))

    def _op_ChangeLicenceStatus(self, payload: Any, request_id: str) -> tuple[int, bytes]:
        portal_id = int(_text(payload, "portalLicenceId"))
        entry = self.registry.find(portal_id=portal_id)
        if entry is None:
            return 500, _not_found(portal_id)
        version = int(_text(payload, "version"))
        action = _text(payload, "action")
        if version <= entry.version:
            entry.operations.append(f"status-ignored:{request_id}")
            return 200, replies.envelope(_changed("ChangeLicenceStatusResponse", request_id, entry))
        allowed, target = _ACTION_FROM[action]
        if entry.status not in allowed:
            message = (
                f"تغییر وضعیت مجوز از «{_STATUS_FA[entry.status]}» با اقدام «{action}» مجاز نیست."
            )
            return 500, replies.fault(
                "ValidationFault", message, field_errors=(("action", "transition", message),)
            )
        validity = payload.find(f"{{{TNS}}}validity")
        if action == "renew" and validity is None:
            message = "برای تمدید، تاریخ‌های اعتبار جدید الزامی است."
            return 500, replies.fault(
                "ValidationFault", message, field_errors=(("validity", "required", message),)
            )
        stored = entry.licence
        _set(stored, "version", str(version))
        _set(stored, "status", target)
        if validity is not None:
            old = stored.find(f"{{{TNS}}}validity")
            new = copy.deepcopy(validity)
            if old is not None:
                stored.replace(old, new)
            else:
                stored.find(f"{{{TNS}}}location").addnext(new)
        entry.version, entry.status = version, target
        entry.updated_at = replies.now_text()
        entry.operations.append(f"{action}:{request_id}")
        return 200, replies.envelope(_changed("ChangeLicenceStatusResponse", request_id, entry))

    def _op_GetLicence(self, payload: Any, request_id: str) -> tuple[int, bytes]:
        portal_id = payload.findtext(f"{{{TNS}}}portalLicenceId")
        municipal_id = payload.findtext(f"{{{TNS}}}municipalLicenceId")
        entry = self.registry.find(
            portal_id=int(portal_id) if portal_id else None, municipal_id=municipal_id
        )
        if entry is None:
            return 500, _not_found(int(portal_id) if portal_id else None, municipal_id)
        return 200, replies.envelope(
            replies.element(
                "GetLicenceResponse",
                ("requestId", request_id),
                ("portalLicenceId", entry.portal_id),
                ("registeredAt", entry.registered_at),
                ("updatedAt", entry.updated_at),
                ("licence", copy.deepcopy(entry.licence)),
            )
        )

    def _html(self) -> str:
        state = self.state()
        rows = "".join(
            f"<tr><td>{e['portal_licence_id']}</td><td>{e['licence_id']}</td>"
            f"<td>{e['licence_type']}</td><td>{e['version']}</td><td>{e['status']}</td>"
            f"<td>{e['updated_at']}</td></tr>"
            for e in state["licences"]
        )
        counts = "".join(f"<li>{k}: {v}</li>" for k, v in sorted(state["requests"].items()))
        import html

        faults = html.escape(json.dumps(state["faults"], ensure_ascii=False))
        return (
            "<!doctype html><html lang='fa'><meta charset='utf-8'>"
            "<title>Portal simulator</title><h1>National licence portal (simulator)</h1>"
            "<table border=1><tr><th>portal id</th><th>licence</th><th>type</th>"
            f"<th>version</th><th>status</th><th>updated</th></tr>{rows}</table>"
            f"<h2>Requests</h2><ul>{counts}</ul><h2>Faults</h2><pre>{faults}</pre></html>"
        )


# --- helpers ---------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, default=str),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _text(node: Any, name: str) -> str:
    return str(node.findtext(f"{{{TNS}}}{name}") or "")


def _set(node: Any, name: str, value: str) -> None:
    node.find(f"{{{TNS}}}{name}").text = value


def _path(path: str | None) -> str:
    # libxml2 paths look like /tns:RegisterLicenceRequest/tns:licence/...: keep local names.
    return re.sub(r"[a-zA-Z0-9_]+:", "", path or "/")


def _is_transient(reply: bytes) -> bool:
    return b"BusyFault" in reply or b"UnavailableFault" in reply


def _changed(name: str, request_id: str, entry: Entry) -> Any:
    return replies.element(
        name,
        ("requestId", request_id),
        ("portalLicenceId", entry.portal_id),
        ("version", entry.version),
        ("status", entry.status),
        ("updatedAt", entry.updated_at),
    )


def _not_found(portal_id: int | None, municipal_id: str | None = None) -> bytes:
    return replies.fault(
        "NotFoundFault",
        replies.FA_NOT_FOUND,
        children=(("portalLicenceId", portal_id), ("municipalLicenceId", municipal_id)),
    )


_PHONE = re.compile(r"^0[0-9]{10}$")


def _business_problems(licence: Any) -> tuple[tuple[str, str, str], ...]:
    """Checks the XSD cannot express, with the Persian messages the portal gives."""
    problems: list[tuple[str, str, str]] = []
    status = _text(licence, "status")
    validity = licence.find(f"{{{TNS}}}validity")
    if validity is not None:
        issued = date.fromisoformat(_text(validity, "issuedOn"))
        until = date.fromisoformat(_text(validity, "validUntil"))
        if until < issued:
            problems.append(
                (
                    "licence/validity/validUntil",
                    "order",
                    "تاریخ پایان اعتبار پیش از تاریخ صدور است.",
                )
            )
    elif status in ("active", "suspended"):
        problems.append(("licence/validity", "required", "مجوز فعال باید تاریخ اعتبار داشته باشد."))
    steps = licence.find(f"{{{TNS}}}steps")
    if int(_text(steps, "done")) > int(_text(steps, "total")):
        problems.append(
            ("licence/steps/done", "range", "تعداد مراحل انجام‌شده از کل مراحل بیشتر است.")
        )
    for index, attribute in enumerate(licence.iterfind(f"{{{TNS}}}attributes/{{{TNS}}}attribute")):
        kind = _text(attribute, "type")
        multiple = _text(attribute, "multiple") in ("true", "1")
        values = [v.text or "" for v in attribute.iterfind(f"{{{TNS}}}value")]
        field_name = f"licence/attributes/{index}({_text(attribute, 'name')})"
        if not multiple and len(values) != 1:
            problems.append(
                (field_name, "cardinality", "ویژگی تک‌مقداری باید دقیقاً یک مقدار داشته باشد.")
            )
        for value in values:
            if not _lexical_ok(kind, value):
                problems.append((field_name, kind, f"مقدار «{value}» برای نوع {kind} معتبر نیست."))
    return tuple(problems)


def _lexical_ok(kind: str, value: str) -> bool:
    try:
        if kind == "integer":
            int(value)
        elif kind == "decimal":
            Decimal(value)
        elif kind == "boolean":
            return value in ("true", "false")
        elif kind == "date":
            date.fromisoformat(value)
        elif kind == "dateTime":
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        elif kind == "phone":
            return bool(_PHONE.match(value))
        else:
            return bool(value.strip())
    except (ValueError, InvalidOperation):
        return False
    return True
