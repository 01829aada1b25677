"""Canonical licence record (docs/DESIGN.md) -> the portal's LicenceRecord, as plain data.

Pure: no I/O, no zeep. The output is the keyword structure zeep renders against
schemas/portal/licence.xsd. Accepts records read back from DynamoDB (numbers as Decimal).
The type's own attributes become a typed list whose types come from the field-naming rules
in DESIGN.md, so all 22 types map without a per-type table and a new attribute needs no code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.licence_types import LICENCE_TYPES
from chalicelib.portal.errors import MappingError

_TITLES = {t.code: t.title_fa for t in LICENCE_TYPES}

# Status transitions the portal expresses as ChangeLicenceStatus actions.
_ACTIONS: dict[tuple[str, str], str] = {
    ("active", "suspended"): "suspend",
    ("suspended", "active"): "reinstate",
    ("active", "revoked"): "revoke",
    ("suspended", "revoked"): "revoke",
    ("active", "expired"): "expire",
    ("suspended", "expired"): "expire",
    ("active", "cancelled"): "cancel",
    ("suspended", "cancelled"): "cancel",
    ("active", "active"): "renew",
}

_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")

PortalRecord = dict[str, Any]


def to_portal_record(licence: Mapping[str, Any]) -> PortalRecord:
    """The portal's LicenceRecord for a canonical licence. Raises MappingError."""
    try:
        record: PortalRecord = {
            "municipalLicenceId": _text(licence, "licence_id"),
            "trackingCode": _text(licence, "tracking_code"),
            "licenceType": _text(licence, "licence_type"),
            "licenceTitle": _TITLES.get(str(licence.get("licence_type")), ""),
            "version": _integer(licence.get("version"), "/version"),
            "status": _text(licence, "status"),
            "activity": {
                "isicCode": _text(licence["activity"], "isic_code", "/activity"),
                "title": _text(licence["activity"], "title", "/activity"),
            },
            "issuing": {
                "district": _integer(licence["issuing"]["district"], "/issuing/district"),
                "unit": _text(licence["issuing"], "unit", "/issuing"),
            },
            "holder": _holder(licence["holder"]),
            "business": {
                "name": _text(licence["business"], "name", "/business"),
                "activity": _text(licence["business"], "activity", "/business"),
            },
            "location": _location(licence["location"]),
            "fees": {"fee": [_fee(i, fee) for i, fee in enumerate(licence.get("fees") or [])]},
            "steps": _steps(licence.get("steps") or {"done": 0, "total": 0}),
            "attachments": {
                "attachment": [_attachment(a) for a in licence.get("attachments") or []]
            },
            "attributes": {"attribute": attributes(licence.get("attributes") or {})},
        }
    except KeyError as missing:
        raise MappingError(f"/{missing.args[0]}", "a required field is missing") from None
    if record["licenceTitle"] == "":
        raise MappingError("/licence_type", "unknown licence type")
    validity = licence.get("validity")
    if validity:
        record["validity"] = to_portal_validity(validity)
    return record


def to_portal_validity(validity: Mapping[str, Any]) -> dict[str, date]:
    return {
        "issuedOn": _date(validity.get("issued_on"), "/validity/issued_on"),
        "validUntil": _date(validity.get("valid_until"), "/validity/valid_until"),
    }


def status_action(synced_status: str | None, status: str) -> str | None:
    """The ChangeLicenceStatus action from the portal's status to ours, if there is one."""
    if synced_status is None:
        return None
    return _ACTIONS.get((synced_status, status))


def data_digest(record: Mapping[str, Any]) -> str:
    """Digest of what UpdateLicence would change beyond status, validity and version.

    Equal digests mean a status change (or renewal) can go as ChangeLicenceStatus.
    """
    data = {k: v for k, v in record.items() if k not in ("status", "validity", "version")}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validity_key(record: Mapping[str, Any]) -> str:
    validity = record.get("validity")
    if not validity:
        return ""
    return f"{validity['issuedOn'].isoformat()}/{validity['validUntil'].isoformat()}"


def aware_datetime(value: Any, pointer: str) -> datetime:
    """A date-time with an offset; naive values are refused (the portal cannot place them)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise MappingError(pointer, "not an RFC 3339 date-time") from None
    if not isinstance(value, datetime):
        raise MappingError(pointer, "not a date-time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise MappingError(pointer, "a date-time without an offset is refused")
    return value


# --- parts -----------------------------------------------------------------------------


def _holder(holder: Mapping[str, Any]) -> dict[str, Any]:
    kind = holder.get("kind")
    if kind == "person":
        person: dict[str, Any] = {
            "nationalId": _text(holder, "national_id", "/holder"),
            "firstName": _text(holder, "first_name", "/holder"),
            "lastName": _text(holder, "last_name", "/holder"),
            "mobile": _text(holder, "mobile", "/holder"),
        }
        if holder.get("email"):
            person["email"] = str(holder["email"])
        if holder.get("birth_date"):
            person["birthDate"] = _date(holder["birth_date"], "/holder/birth_date")
        return {"person": person}
    if kind == "organisation":
        organisation: dict[str, Any] = {
            "nationalId": _text(holder, "national_id", "/holder"),
            "registrationNumber": _text(holder, "registration_number", "/holder"),
            "name": _text(holder, "name", "/holder"),
        }
        rep = holder.get("representative")
        if rep:
            organisation["representative"] = {
                "nationalId": _text(rep, "national_id", "/holder/representative"),
                "firstName": _text(rep, "first_name", "/holder/representative"),
                "lastName": _text(rep, "last_name", "/holder/representative"),
                "mobile": _text(rep, "mobile", "/holder/representative"),
            }
        return {"organisation": organisation}
    raise MappingError("/holder/kind", "holder kind must be person or organisation")


def _location(location: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "district": _integer(location["district"], "/location/district"),
        "neighbourhood": _text(location, "neighbourhood", "/location"),
        "address": _text(location, "address", "/location"),
        "postalCode": _text(location, "postal_code", "/location"),
    }
    coordinates = location.get("coordinates")
    if coordinates:
        out["coordinates"] = {
            "latitude": _decimal(coordinates["lat"], "/location/coordinates/lat"),
            "longitude": _decimal(coordinates["lon"], "/location/coordinates/lon"),
        }
    return out


def _fee(index: int, fee: Mapping[str, Any]) -> dict[str, Any]:
    pointer = f"/fees/{index}/amount_rials"
    return {
        "kind": _text(fee, "kind", "/fees"),
        "amountRials": _rials(fee.get("amount_rials"), pointer),
    }


def _steps(steps: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "done": _integer(steps.get("done", 0), "/steps/done"),
        "total": _integer(steps.get("total", 0), "/steps/total"),
    }
    if steps.get("current"):
        out["current"] = str(steps["current"])
    return out


def _attachment(attachment: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": _text(attachment, "reference", "/attachments")}
    if attachment.get("title"):
        out["title"] = str(attachment["title"])
    out["sha256"] = _text(attachment, "sha256", "/attachments")
    return out


def attributes(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The typed attribute list: nested objects flattened to dotted names, sorted by name
    (DynamoDB does not keep map order, and the portal's record must not churn)."""
    flat: list[tuple[str, Any]] = []
    _flatten("", values, flat)
    out = []
    for name, value in sorted(flat, key=lambda item: _sort_key(item[0])):
        pointer = "/attributes/" + name.replace(".", "/")
        items = list(value) if isinstance(value, list | tuple) else [value]
        kinds = {_value_type(name, v, pointer) for v in items}
        if kinds == {"integer", "decimal"}:
            kinds = {"decimal"}
        if len(kinds) > 1:
            raise MappingError(pointer, "a list mixes value types")
        kind = kinds.pop() if kinds else _type_from_name(name) or "text"
        out.append(
            {
                "name": name,
                "type": kind,
                "multiple": isinstance(value, list | tuple),
                "value": [_lexical(kind, v, pointer) for v in items],
            }
        )
    return out


def _flatten(prefix: str, value: Mapping[str, Any], out: list[tuple[str, Any]]) -> None:
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping):
            _flatten(name, item, out)
        elif isinstance(item, list | tuple) and any(isinstance(i, Mapping) for i in item):
            # A list of objects (a fleet's vehicles): one dotted name per item, by position.
            for index, element in enumerate(item):
                if not isinstance(element, Mapping):
                    raise MappingError("/attributes/" + name.replace(".", "/"), "mixed list")
                _flatten(f"{name}.{index}", element, out)
        else:
            out.append((name, item))


def _sort_key(name: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in name.split("."))


def _type_from_name(name: str) -> str | None:
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("vehicle_plate", "vehicle_plates"):
        return "vehiclePlate"
    if leaf == "mobile" or leaf.endswith("_phone"):
        return "phone"
    if leaf.endswith(("_id", "_code", "_number")):
        return "identifier"
    if leaf.endswith(("_on", "_until", "_date")):
        return "date"
    if leaf.endswith("_at"):
        return "dateTime"
    return None


def _value_type(name: str, value: Any, pointer: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        number = _decimal(value, pointer)
        return "integer" if number == number.to_integral_value() else "decimal"
    if isinstance(value, str):
        return _type_from_name(name) or "text"
    if isinstance(value, datetime):
        return "dateTime"
    if isinstance(value, date):
        return "date"
    raise MappingError(pointer, f"unsupported value of type {type(value).__name__}")


def _lexical(kind: str, value: Any, pointer: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return str(_integer(value, pointer))
    if kind == "decimal":
        return format(_decimal(value, pointer), "f")
    if kind == "date":
        return _date(value, pointer).isoformat()
    if kind == "dateTime":
        return aware_datetime(value, pointer).isoformat()
    text = str(value)
    if not text:
        raise MappingError(pointer, "empty text")
    return text


# --- scalars ---------------------------------------------------------------------------


def _text(parent: Mapping[str, Any], key: str, base: str = "") -> str:
    value = parent[key]
    if not isinstance(value, str) or not value:
        raise MappingError(f"{base}/{key}", "expected non-empty text")
    return value


def _integer(value: Any, pointer: str) -> int:
    if isinstance(value, bool):
        raise MappingError(pointer, "expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise MappingError(pointer, "expected an integer")


def _rials(value: Any, pointer: str) -> int:
    """Money is integer rials: floats are refused outright (they are how rials get lost)."""
    if isinstance(value, float):
        raise MappingError(pointer, "money must be integer rials, not a float")
    amount = _integer(value, pointer)
    if amount < 0:
        raise MappingError(pointer, "money cannot be negative")
    return amount


def _decimal(value: Any, pointer: str) -> Decimal:
    if isinstance(value, bool):
        raise MappingError(pointer, "expected a number")
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise MappingError(pointer, "expected a number") from None


def _date(value: Any, pointer: str) -> date:
    if isinstance(value, datetime):
        raise MappingError(pointer, "expected a date, not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise MappingError(pointer, "expected an ISO date (YYYY-MM-DD)")
