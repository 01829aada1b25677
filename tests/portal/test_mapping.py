"""Canonical licence -> portal record: golden XML per type, checked against the XSD."""

from __future__ import annotations

import copy
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from chalicelib.portal import mapping
from chalicelib.portal.client import WSDL_PATH, PortalClient
from chalicelib.portal.errors import MappingError
from tests.portal.support import TYPES, canonical

GOLDEN = Path(__file__).with_name("golden")
SCHEMAS = WSDL_PATH.parent
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TNS = "https://schemas.licence-bridge.ir/portal/v1"


@pytest.fixture(scope="module")
def offline() -> PortalClient:
    # Never sends: the URL is only written into nothing (create_message does not post).
    return PortalClient("http://127.0.0.1:9/portal/licence", lambda: ("golden", "secret"))


@pytest.fixture(scope="module")
def schemas() -> tuple[etree.XMLSchema, etree.XMLSchema]:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    body = etree.XMLSchema(etree.parse(str(SCHEMAS / "licence.xsd"), parser))
    header = etree.XMLSchema(etree.parse(str(SCHEMAS / "wsse.xsd"), parser))
    return body, header


def _normalised(envelope: bytes) -> str:
    root = etree.fromstring(envelope, etree.XMLParser(remove_blank_text=True))
    for path, value in (
        (f".//{{{WSSE}}}Nonce", "NONCE"),
        (f".//{{{WSSE}}}Password", "DIGEST"),
        (f".//{{{WSU}}}Created", "CREATED"),
        (f".//{{{TNS}}}requestId", "REQUEST-ID"),
    ):
        for node in root.iterfind(path):
            node.text = value
    return etree.tostring(root, pretty_print=True, encoding="unicode")


@pytest.mark.parametrize("code", TYPES)
def test_register_request_matches_golden_xml_and_the_xsd(
    code: str, offline: PortalClient, schemas: tuple[etree.XMLSchema, etree.XMLSchema]
) -> None:
    licence = canonical(code)
    record = mapping.to_portal_record(licence)
    envelope = offline.render(
        "RegisterLicence", requestId=f"{licence['licence_id']}:1", licence=record
    )
    root = etree.fromstring(envelope)
    body_schema, header_schema = schemas
    body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    security = root.find(f".//{{{WSSE}}}Security")
    assert body_schema.validate(copy.deepcopy(body)), body_schema.error_log
    assert header_schema.validate(copy.deepcopy(security)), header_schema.error_log
    assert body.find(f"{{{TNS}}}licence/{{{TNS}}}licenceType").text == code

    text = _normalised(envelope)
    golden = GOLDEN / f"{code}.xml"
    if os.environ.get("UPDATE_GOLDEN") or not golden.exists():
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_attributes_are_typed_flattened_and_sorted() -> None:
    licence = canonical("DRY_WASTE_COLLECTION")
    rows = {a["name"]: a for a in mapping.attributes(licence["attributes"])}
    assert rows["collection_districts"] == {
        "name": "collection_districts",
        "type": "integer",
        "multiple": True,
        "value": ["12", "13", "14"],
    }
    assert rows["vehicles.0.vehicle_plate"]["type"] == "vehiclePlate"
    assert rows["vehicles.1.vehicle_type"]["value"] == ["light_truck"]
    assert list(rows) == [
        "booths",
        "collection_districts",
        "vehicles.0.vehicle_plate",
        "vehicles.0.vehicle_type",
        "vehicles.1.vehicle_plate",
        "vehicles.1.vehicle_type",
    ]


def test_typing_follows_the_field_naming_rules() -> None:
    rows = mapping.attributes(
        {
            "support_phone": "02188776655",
            "permit_number": "123",
            "health_check_date": "2025-01-02",
            "inspected_at": "2025-01-02T10:00:00+03:30",
            "illuminated": True,
            "area_m2": Decimal("12.50"),
            "floors": Decimal("4"),
            "vehicle_plates": [],
        }
    )
    types = {r["name"]: (r["type"], r["value"]) for r in rows}
    assert types == {
        "area_m2": ("decimal", ["12.50"]),
        "floors": ("integer", ["4"]),
        "health_check_date": ("date", ["2025-01-02"]),
        "illuminated": ("boolean", ["true"]),
        "inspected_at": ("dateTime", ["2025-01-02T10:00:00+03:30"]),
        "permit_number": ("identifier", ["123"]),
        "support_phone": ("phone", ["02188776655"]),
        "vehicle_plates": ("vehiclePlate", []),
    }


def test_money_from_dynamodb_decimals_is_integer_rials() -> None:
    licence = canonical("FOOD_TRUCK")
    licence["fees"] = [{"kind": "issuance", "amount_rials": Decimal("18500000")}]
    record = mapping.to_portal_record(licence)
    assert record["fees"] == {"fee": [{"kind": "issuance", "amountRials": 18500000}]}
    assert isinstance(record["fees"]["fee"][0]["amountRials"], int)


@pytest.mark.parametrize("amount", [18500000.0, Decimal("10.5"), -1])
def test_money_that_is_not_integer_rials_is_refused(amount: Any) -> None:
    licence = canonical("FOOD_TRUCK")
    licence["fees"] = [{"kind": "issuance", "amount_rials": amount}]
    with pytest.raises(MappingError) as caught:
        mapping.to_portal_record(licence)
    assert caught.value.reasons[0].field == "/fees/0/amount_rials"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(MappingError, match="without an offset"):
        mapping.attributes({"inspected_at": "2025-01-02T10:00:00"})
    with pytest.raises(MappingError, match="without an offset"):
        mapping.aware_datetime(datetime(2025, 1, 2, 10, 0), "/x")


def test_dates_become_date_objects_and_validity_is_optional_before_issue() -> None:
    active = mapping.to_portal_record(canonical("FOOD_TRUCK"))
    assert isinstance(active["validity"]["issuedOn"], date)
    applied = canonical("FOOD_TRUCK", status="applied")
    del applied["validity"]
    assert "validity" not in mapping.to_portal_record(applied)


def test_status_only_changes_leave_the_data_digest_alone() -> None:
    before = mapping.to_portal_record(canonical("FOOD_TRUCK"))
    after = mapping.to_portal_record(canonical("FOOD_TRUCK", status="suspended", version=9))
    assert mapping.data_digest(before) == mapping.data_digest(after)
    assert mapping.status_action("active", "suspended") == "suspend"
    assert mapping.status_action("suspended", "active") == "reinstate"
    assert mapping.status_action("active", "active") == "renew"
    assert mapping.status_action(None, "active") is None
    changed = canonical("FOOD_TRUCK")
    changed["business"] = {**changed["business"], "name": "نام تازه"}
    assert mapping.data_digest(mapping.to_portal_record(changed)) != mapping.data_digest(before)
