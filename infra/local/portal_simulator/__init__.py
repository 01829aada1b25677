"""A local national licence portal: SOAP 1.1 over HTTP on loopback, implementing exactly
chalicelib/schemas/portal/LicenceService.wsdl, with fault injection and an admin view.

Local tooling only: never imported by chalicelib (and so never in the Lambda package).

    handle = start_simulator(username="u", password="p", latency_ms=20)
    handle.url        # SOAP endpoint; handle.url + "?wsdl" serves the contract
    handle.configure(error_rate=0.2, fault_codes=["Busy"], down_for_s=5)
    handle.state()    # licences held, request counts, fault settings
    handle.stop()
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from infra.local.portal_simulator.app import SOAP_PATH, Faults, PortalSimulator

__all__ = ["Faults", "PortalSimulator", "SimulatorHandle", "start_simulator"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class SimulatorHandle:
    simulator: PortalSimulator
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def base(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def url(self) -> str:
        return self.base + SOAP_PATH

    @property
    def admin(self) -> str:
        return self.base + "/admin"

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change fault injection through the admin endpoint (as an operator would)."""
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.admin,
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.loads(response.read())  # type: ignore[no-any-return]

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.admin, timeout=5) as response:  # noqa: S310
            return json.loads(response.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.simulator.stopping.set()  # releases stalled requests
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_simulator(
    *,
    username: str = "licence-bridge",
    password: str = "local-portal-password",  # noqa: S107 - the local simulator's default
    host: str = "127.0.0.1",
    port: int = 0,
    **faults: Any,
) -> SimulatorHandle:
    """Start the simulator on `host:port` (0 = a free port) in a daemon thread."""
    simulator = PortalSimulator(username, password)
    if faults:
        simulator.configure(faults)
    server = make_server(host, port, simulator, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="portal-simulator", daemon=True)
    thread.start()
    return SimulatorHandle(simulator, server, thread)
