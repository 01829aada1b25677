"""The zeep client against the simulator over real HTTP: outcomes and their classification."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.portal import mapping
from chalicelib.portal.client import PortalClient, build_client
from chalicelib.portal.errors import (
    PortalDuplicateError,
    PortalRejectedError,
    PortalUnavailableError,
)
from infra.local.portal_simulator import SimulatorHandle
from tests.portal.conftest import FAST
from tests.portal.support import TYPES, USERNAME, canonical

TEHRAN = timezone(timedelta(hours=3, minutes=30))


@pytest.mark.parametrize("code", TYPES)
def test_every_type_registers_and_reads_back(code: str, portal: PortalClient) -> None:
    licence = canonical(code)
    record = mapping.to_portal_record(licence)
    receipt = portal.register(record, f"{licence['licence_id']}:{licence['version']}")
    assert receipt.portal_licence_id >= 19_000_001
    assert (receipt.version, receipt.status) == (licence["version"], licence["status"])
    held = portal.get("read-1", portal_licence_id=receipt.portal_licence_id)
    assert held is not None
    assert held.record["municipalLicenceId"] == licence["licence_id"]
    assert held.record["licenceType"] == code
    names = [a["name"] for a in held.record["attributes"]["attribute"]]
    assert names == [a["name"] for a in record["attributes"]["attribute"]]


def test_same_request_id_gives_the_same_answer_and_one_registration(
    portal: PortalClient, sim: SimulatorHandle
) -> None:
    record = mapping.to_portal_record(canonical("KINDERGARTEN"))
    first = portal.register(record, "TM-x:1")
    again = portal.register(record, "TM-x:1")
    assert first == again
    assert len(sim.state()["licences"]) == 1
    with pytest.raises(PortalDuplicateError) as caught:
        portal.register(record, "TM-x:2")
    assert caught.value.existing_portal_licence_id == first.portal_licence_id


def test_update_and_status_changes_and_stale_updates_do_not_regress(portal: PortalClient) -> None:
    licence = canonical("FOOD_TRUCK")
    assert licence["status"] == "active"
    record = mapping.to_portal_record(licence)
    receipt = portal.register(record, "r:1")
    newer = mapping.to_portal_record({**licence, "version": licence["version"] + 1})
    assert portal.update(receipt.portal_licence_id, newer, "r:2").version == newer["version"]
    stale = portal.update(receipt.portal_licence_id, record, "r:1-late")
    assert stale.version == newer["version"]
    suspended = portal.change_status(
        receipt.portal_licence_id,
        version=newer["version"] + 1,
        action="suspend",
        effective_at=datetime(2025, 4, 1, 9, 0, tzinfo=TEHRAN),
        request_id="r:3",
    )
    assert suspended.status == "suspended"
    with pytest.raises(PortalRejectedError) as caught:
        portal.change_status(
            receipt.portal_licence_id,
            version=newer["version"] + 2,
            action="suspend",
            effective_at=datetime(2025, 4, 2, 9, 0, tzinfo=TEHRAN),
            request_id="r:4",
        )
    assert caught.value.code == "Validation"
    assert "مجاز نیست" in caught.value.reasons[0].message


def test_a_naive_effective_time_is_refused_before_sending(portal: PortalClient) -> None:
    with pytest.raises(PortalRejectedError, match="offset"):
        portal.change_status(
            1, version=2, action="suspend", effective_at=datetime(2025, 4, 1), request_id="n:1"
        )


def test_update_of_an_unknown_licence_is_a_permanent_not_found(portal: PortalClient) -> None:
    record = mapping.to_portal_record(canonical("CAR_WASH"))
    with pytest.raises(PortalRejectedError) as caught:
        portal.update(999, record, "u:1")
    assert caught.value.code == "NotFound"
    assert portal.get("g:1", portal_licence_id=999) is None


def test_business_validation_keeps_the_portal_persian_reasons(portal: PortalClient) -> None:
    licence = canonical("TAXI_DRIVER")
    licence["validity"] = {"issued_on": "2025-03-01", "valid_until": "2024-03-01"}
    with pytest.raises(PortalRejectedError) as caught:
        portal.register(mapping.to_portal_record(licence), "v:1")
    assert caught.value.code == "Validation"
    assert caught.value.reasons[0].field == "licence/validity/validUntil"
    assert caught.value.reasons[0].message == "تاریخ پایان اعتبار پیش از تاریخ صدور است."


def test_wrong_credentials_are_transient_but_not_retried_in_process(sim: SimulatorHandle) -> None:
    client = build_client(sim.url, lambda: (USERNAME, "wrong"), timeouts=FAST)
    with pytest.raises(PortalUnavailableError) as caught:
        client.get("a:1", portal_licence_id=1)
    assert caught.value.code == "Authentication"
    assert caught.value.retry_in_process is False


# (fault injected, error type, code, retried in process)
FAULTS = [
    ("Busy", PortalUnavailableError, "Busy", True),
    ("Unavailable", PortalUnavailableError, "Unavailable", True),
    ("Authentication", PortalUnavailableError, "Authentication", False),
    ("Validation", PortalRejectedError, "Validation", None),
    ("Duplicate", PortalDuplicateError, "DuplicateRequest", None),
    ("NotFound", PortalRejectedError, "NotFound", None),
    ("ServerFault", PortalUnavailableError, "ServerFault", True),
    ("ClientFault", PortalRejectedError, "ClientFault", None),
    ("NoNamespaceFault", PortalUnavailableError, "Busy", True),
    ("DefaultNamespaceFault", PortalRejectedError, "Validation", None),
    ("Http503", PortalUnavailableError, "HTTP503", True),
    ("Http502Text", PortalUnavailableError, "HTTP502", True),
    ("Truncated", PortalRejectedError, "UnparseableReply", None),
    ("Dtd", PortalRejectedError, "HostileReply", None),
    ("ExternalEntity", PortalRejectedError, "HostileReply", None),
    ("BillionLaughs", PortalRejectedError, "HostileReply", None),
]


@pytest.mark.parametrize("case", FAULTS, ids=[f[0] for f in FAULTS])
def test_every_fault_is_classified_into_one_of_our_errors(
    case: tuple[str, type[Exception], str, bool | None],
    portal: PortalClient,
    sim: SimulatorHandle,
) -> None:
    fault, kind, code, in_process = case
    record = mapping.to_portal_record(canonical("SHOP_SIGN"))
    sim.configure(script=[fault])
    with pytest.raises(kind) as caught:
        portal.update(1, record, "f:1")
    error = caught.value
    assert type(error) is kind
    assert error.code == code  # type: ignore[attr-defined]
    if in_process is not None:
        assert error.retry_in_process is in_process  # type: ignore[attr-defined]
    # Never the reply's raw bytes in what a log line would print.
    assert "<" not in str(error) and "lol" not in str(error)


def test_persian_reasons_survive_a_fault_with_unqualified_children(
    portal: PortalClient, sim: SimulatorHandle
) -> None:
    sim.configure(script=["DefaultNamespaceFault"])
    with pytest.raises(PortalRejectedError) as caught:
        portal.get("d:1", portal_licence_id=1)
    assert caught.value.reasons[0].message == "کد پستی معتبر نیست."


def test_no_namespace_busy_fault_keeps_its_retry_after(
    portal: PortalClient, sim: SimulatorHandle
) -> None:
    sim.configure(script=["NoNamespaceFault"])
    with pytest.raises(PortalUnavailableError) as caught:
        portal.get("b:1", portal_licence_id=1)
    assert caught.value.retry_after_seconds == 2.0


def test_a_stalled_portal_times_out_within_the_time_left(
    portal: PortalClient, sim: SimulatorHandle
) -> None:
    sim.configure(script=["stall"])
    started = time.monotonic()
    with pytest.raises(PortalUnavailableError) as caught:
        portal.get("s:1", portal_licence_id=1, time_left=0.4)
    elapsed = time.monotonic() - started
    assert caught.value.code == "Timeout"
    assert 0.25 < elapsed < 1.0  # read timeout = time_left - margin (0.3 s)


def test_no_call_starts_without_time_for_it(portal: PortalClient, sim: SimulatorHandle) -> None:
    before = sim.state()["requests"].get("http_requests", 0)
    with pytest.raises(PortalUnavailableError) as caught:
        portal.get("t:1", portal_licence_id=1, time_left=0.1)
    assert caught.value.code == "NoTimeLeft"
    assert sim.state()["requests"].get("http_requests", 0) == before


def test_a_down_window_answers_503_then_recovers(
    portal: PortalClient, sim: SimulatorHandle
) -> None:
    sim.configure(down_for_s=30)
    with pytest.raises(PortalUnavailableError) as caught:
        portal.get("w:1", portal_licence_id=1)
    assert caught.value.code == "HTTP503"
    sim.configure(down_for_s=0)
    assert portal.get("w:2", portal_licence_id=1) is None


def test_connection_refused_is_transient() -> None:
    client = build_client("http://127.0.0.1:9/portal/licence", lambda: ("u", "p"), timeouts=FAST)
    with pytest.raises(PortalUnavailableError) as caught:
        client.get("c:1", portal_licence_id=1)
    assert caught.value.code in ("ConnectionError", "Timeout")


def test_the_simulator_serves_the_contract_it_checks(sim: SimulatorHandle) -> None:
    wsdl = requests.get(sim.url + "?wsdl", timeout=5)
    assert wsdl.status_code == 200
    assert f'location="{sim.url}"' in wsdl.text
    xsd = requests.get(sim.base + "/portal/licence.xsd", timeout=5)
    assert b"LicenceRecord" in xsd.content
    ui = requests.get(sim.admin + "/ui", timeout=5)
    assert "National licence portal" in ui.text


def test_requests_that_break_the_contract_are_refused_by_the_simulator(
    sim: SimulatorHandle,
) -> None:
    # No WS-Security header at all.
    body = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<GetLicenceRequest xmlns="https://schemas.licence-bridge.ir/portal/v1">'
        "<requestId>x</requestId><portalLicenceId>1</portalLicenceId></GetLicenceRequest>"
        "</soap:Body></soap:Envelope>"
    )
    reply = requests.post(sim.url, data=body.encode(), timeout=5)
    assert reply.status_code == 500
    assert "AuthenticationFault" in reply.text
