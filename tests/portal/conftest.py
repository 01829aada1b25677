"""A portal simulator over real HTTP on loopback, shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.portal.client import PortalClient, Timeouts, build_client
from infra.local.portal_simulator import SimulatorHandle, start_simulator
from tests.portal.support import PASSWORD, USERNAME


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    handle = start_simulator(username=USERNAME, password=PASSWORD)
    yield handle
    handle.stop()


@pytest.fixture
def sim(simulator: SimulatorHandle) -> Iterator[SimulatorHandle]:
    """The simulator with a clean registry and no faults."""
    simulator.configure(
        reset=True,
        error_rate=0,
        stall_rate=0,
        latency_ms=0,
        script=[],
        down_for_s=0,
        fault_codes=["Busy"],
        stall_max_s=30,
    )
    yield simulator
    simulator.configure(script=[], error_rate=0, stall_rate=0, down_for_s=0)


FAST = Timeouts(connect=0.5, read=0.5, margin=0.1, minimum=0.05)


@pytest.fixture
def portal(sim: SimulatorHandle) -> PortalClient:
    return build_client(sim.url, lambda: (USERNAME, PASSWORD), timeouts=FAST)
