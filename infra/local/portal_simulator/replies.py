"""SOAP 1.1 replies the simulator sends: answers, faults, and the broken ones it can inject."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "https://schemas.licence-bridge.ir/portal/v1"
TEHRAN = ZoneInfo("Asia/Tehran")

_NSMAP = {"soap": SOAP_ENV, "tns": TNS}


def now_text() -> str:
    return datetime.now(TEHRAN).replace(microsecond=0).isoformat()


def envelope(body_child: Any) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=_NSMAP)
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    body.append(body_child)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")  # type: ignore[no-any-return]


def element(name: str, *children: tuple[str, Any]) -> Any:
    """tns:name with simple tns children, in order; None values are left out."""
    node = etree.Element(f"{{{TNS}}}{name}", nsmap={"tns": TNS})
    for child_name, value in children:
        if value is None:
            continue
        if isinstance(value, etree._Element):
            value.tag = f"{{{TNS}}}{child_name}"
            node.append(value)
        else:
            etree.SubElement(node, f"{{{TNS}}}{child_name}").text = str(value)
    return node


def fault(
    kind: str,
    message: str,
    *,
    server: bool = False,
    children: tuple[tuple[str, Any], ...] = (),
    field_errors: tuple[tuple[str, str, str], ...] = (),
) -> bytes:
    """A SOAP 1.1 fault: faultcode/faultstring/detail unqualified, as SOAP 1.1 specifies."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=_NSMAP)
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = "soap:Server" if server else "soap:Client"
    etree.SubElement(node, "faultstring").text = message
    detail = etree.SubElement(node, "detail")
    payload = element(kind, ("message", message), *children)
    for field, code, text in field_errors:
        item = etree.SubElement(payload, f"{{{TNS}}}fieldError")
        etree.SubElement(item, f"{{{TNS}}}field").text = field
        etree.SubElement(item, f"{{{TNS}}}code").text = code
        etree.SubElement(item, f"{{{TNS}}}message").text = text
    detail.append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")  # type: ignore[no-any-return]


# --- injected faults -----------------------------------------------------------------

FA_BUSY = "سامانه در حال حاضر مشغول است؛ لطفاً بعداً تلاش کنید."
FA_UNAVAILABLE = "سامانه موقتاً در دسترس نیست."
FA_AUTH = "احراز هویت ناموفق بود."
FA_NOT_FOUND = "مجوزی با این شناسه یافت نشد."
FA_VALIDATION = "اطلاعات مجوز معتبر نیست."
FA_DUPLICATE = "این درخواست پیش‌تر با محتوای دیگری ثبت شده است."


def injected(code: str) -> tuple[int, str, bytes]:
    """(HTTP status, content type, body) for a fault code set by the admin endpoint."""
    xml = "text/xml; charset=utf-8"
    if code == "Busy":
        return (
            500,
            xml,
            fault("BusyFault", FA_BUSY, server=True, children=(("retryAfterSeconds", 1),)),
        )
    if code == "Unavailable":
        return 500, xml, fault("UnavailableFault", FA_UNAVAILABLE, server=True)
    if code == "Authentication":
        return 500, xml, fault("AuthenticationFault", FA_AUTH)
    if code == "NotFound":
        return 500, xml, fault("NotFoundFault", FA_NOT_FOUND)
    if code == "Validation":
        errors = (("licence/holder/mobile", "format", "شماره همراه دارنده معتبر نیست."),)
        return 500, xml, fault("ValidationFault", FA_VALIDATION, field_errors=errors)
    if code == "Duplicate":
        return (
            500,
            xml,
            fault("DuplicateRequestFault", FA_DUPLICATE, children=(("requestId", "x"),)),
        )
    if code == "ServerFault":  # a bare soap:Server fault with no detail
        return 500, xml, _bare_fault("soap:Server", "internal error")
    if code == "ClientFault":
        return 500, xml, _bare_fault("soap:Client", "bad request")
    if code == "NoNamespaceFault":
        return 500, xml, _no_namespace_fault()
    if code == "DefaultNamespaceFault":
        return 500, xml, _default_namespace_fault()
    if code == "Http503":
        return 503, "text/html", b"<html><body><h1>503 Service Unavailable</h1></body></html>"
    if code == "Http502Text":
        return 502, "text/plain", b"Bad Gateway"
    if code == "Truncated":
        return 200, xml, _truncated()
    if code == "Dtd":
        return 200, xml, _with_doctype("<!DOCTYPE Envelope [<!ELEMENT Envelope ANY>]>")
    if code == "ExternalEntity":
        return (
            200,
            xml,
            _with_doctype(
                '<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"
            ),
        )
    if code == "BillionLaughs":
        lol = "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
        )
        return 200, xml, _with_doctype(f'<!DOCTYPE Envelope [<!ENTITY lol0 "lol">{lol}]>', "&lol9;")
    raise ValueError(f"unknown fault code {code}")


FAULT_CODES = (
    "Busy",
    "Unavailable",
    "Authentication",
    "NotFound",
    "Validation",
    "Duplicate",
    "ServerFault",
    "ClientFault",
    "NoNamespaceFault",
    "DefaultNamespaceFault",
    "Http503",
    "Http502Text",
    "Truncated",
    "Dtd",
    "ExternalEntity",
    "BillionLaughs",
)


def _bare_fault(code: str, text: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{text}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def _no_namespace_fault() -> bytes:
    # Detail children in no namespace at all, as some SOAP stacks send them.
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:Server</faultcode><faultstring>{FA_BUSY}</faultstring>"
        f"<detail><BusyFault><message>{FA_BUSY}</message>"
        "<retryAfterSeconds>2</retryAfterSeconds></BusyFault></detail>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def _default_namespace_fault() -> bytes:
    # A default namespace in scope, children still unqualified (xmlns="" resets it).
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Envelope xmlns="{SOAP_ENV}"><Body><Fault>'
        f'<faultcode xmlns="">Client</faultcode><faultstring xmlns="">{FA_VALIDATION}</faultstring>'
        f'<detail xmlns=""><ValidationFault xmlns="{TNS}"><message>{FA_VALIDATION}</message>'
        "<fieldError><field>licence/location/postalCode</field><code>format</code>"
        "<message>کد پستی معتبر نیست.</message></fieldError></ValidationFault></detail>"
        "</Fault></Body></Envelope>"
    ).encode()


def _truncated() -> bytes:
    whole = envelope(element("GetLicenceResponse", ("requestId", "truncated")))
    return whole[: len(whole) // 2]


def _with_doctype(doctype: str, text: str = "x") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}'
        f'<Envelope xmlns="{SOAP_ENV}"><Body><x>{text}</x></Body></Envelope>'
    ).encode()
