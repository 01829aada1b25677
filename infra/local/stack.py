"""The local stack: moto server as AWS, our CloudFormation stack in it, the portal simulator,
the API under `chalice local`, and the sync worker behind a local SQS poller.

One process tree, every port on loopback (free ports unless given). Start it with
`LocalStack(StackOptions(...)).start()`, or as a context manager, and it stops everything on
exit, Ctrl-C or SIGTERM (see infra/local/procs.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests
from botocore.config import Config

from infra.local.procs import LOOPBACK, Processes, free_port, wait_for_port
from infra.provision import provision, stage_environment

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
CONSUMER = "national-portal"

ALL_DISTRICTS = tuple(range(1, 23))


def source_registrations() -> dict[str, dict[str, list[Any]]]:
    """The municipal systems that post to us, each with the types and districts it may post.

    One licensing system per district (all types, its own district), the electronic service
    offices (business licences, every district) and the service desk (everything).
    """
    from chalicelib.licence_types import LICENCE_TYPES

    business = [t.code for t in LICENCE_TYPES if t.kind == "business"]
    sources: dict[str, dict[str, list[Any]]] = {
        f"district-{d:02d}": {"licence_types": ["*"], "districts": [d]} for d in ALL_DISTRICTS
    }
    sources["e-services"] = {"licence_types": business, "districts": ["*"]}
    sources["service-desk"] = {"licence_types": ["*"], "districts": ["*"]}
    return sources


@dataclass
class StackOptions:
    stage: str = "local"
    host: str = LOOPBACK
    moto_port: int = 0  # 0: a free port
    portal_port: int = 0
    api_port: int = 0
    # Portal fault injection (the data run: ~20% transient faults, some latency, a rare stall).
    error_rate: float = 0.2
    latency_ms: int = 40
    stall_rate: float = 0.005
    pollers: int = 2
    schedule_interval: float = 10.0
    log_dir: Path | None = None
    start_timeout: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, *, pollers: int) -> None:
        """The command-line options `make run` and `make up` share."""
        free = "(default: a free port)"
        parser.add_argument("--api-port", type=int, default=0, metavar="PORT", help=f"API {free}")
        parser.add_argument(
            "--portal-port", type=int, default=0, metavar="PORT", help=f"portal simulator {free}"
        )
        parser.add_argument(
            "--moto-port", type=int, default=0, metavar="PORT", help=f"moto server (AWS) {free}"
        )
        parser.add_argument(
            "--error-rate", type=float, default=0.2, help="portal transient fault rate"
        )
        parser.add_argument("--latency-ms", type=int, default=40, help="added portal latency")
        parser.add_argument("--stall-rate", type=float, default=0.005, help="portal stall rate")
        parser.add_argument(
            "--pollers", type=int, default=pollers, help="concurrent sync worker pollers"
        )

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, **more: Any) -> StackOptions:
        return cls(
            api_port=args.api_port,
            portal_port=args.portal_port,
            moto_port=args.moto_port,
            error_rate=args.error_rate,
            latency_ms=args.latency_ms,
            stall_rate=args.stall_rate,
            pollers=args.pollers,
            **more,
        )


@dataclass
class StackInfo:
    stage: str
    aws_endpoint: str
    api_url: str
    portal_url: str
    portal_admin_url: str
    portal_base_url: str
    outputs: dict[str, str]
    env: dict[str, str]
    source_secrets: dict[str, str]
    consumer: str
    consumer_token: str
    log_dir: Path
    stats_dir: Path


class EndpointSession:
    """A boto3 session whose clients all talk to one endpoint (moto server)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        self._clients: dict[str, Any] = {}

    def client(self, service: str, **kwargs: Any) -> Any:
        if service not in self._clients or kwargs:
            config = Config(retries={"max_attempts": 5, "mode": "standard"})
            made = self._session.client(
                service, endpoint_url=self.endpoint, config=config, **kwargs
            )
            if kwargs:
                return made
            self._clients[service] = made
        return self._clients[service]


def _python() -> str:
    return sys.executable


def _chalice_argv() -> list[str]:
    script = Path(sys.executable).parent / "chalice"
    if script.exists():
        return [str(script)]
    return [_python(), "-c", "import sys; from chalice.cli import main; sys.exit(main())"]


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_dir = self.options.log_dir or ROOT / "build" / "local" / f"{stamp}-{os.getpid()}"
        self.processes = Processes(self.log_dir)
        self.info: StackInfo | None = None
        self.session: EndpointSession | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.processes.stop_all()

    def start(self) -> StackInfo:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StackInfo:
        opts = self.options
        host = opts.host
        moto_port = opts.moto_port or free_port(host)
        portal_port = opts.portal_port or free_port(host)
        api_port = opts.api_port or free_port(host)
        endpoint = f"http://{host}:{moto_port}"
        base_env = _base_env(endpoint)

        # 1. AWS: moto in server mode.
        moto = self.processes.spawn(
            "moto",
            [_python(), "-m", "infra.local.moto_server", "-H", host, "-p", str(moto_port)],
            base_env,
        )
        wait_for_port(host, moto_port, opts.start_timeout, moto.proc)
        self.session = EndpointSession(endpoint)

        # 2. The stack from infra/stack.yaml, then the secrets seeded for this run.
        outputs = provision(self.session, opts.stage)
        prefix = outputs["SecretsPrefix"]
        source_secrets = self._seed_sources(prefix)
        token = self._seed_consumer(prefix)
        portal_creds = json.loads(
            self.session.client("secretsmanager").get_secret_value(SecretId=f"{prefix}/portal")[
                "SecretString"
            ]
        )

        # 3. The portal simulator, with the stack's generated credentials.
        portal = self.processes.spawn(
            "portal",
            simulator_argv(
                host,
                portal_port,
                portal_creds["username"],
                portal_creds["password"],
                error_rate=opts.error_rate,
                latency_ms=opts.latency_ms,
                stall_rate=opts.stall_rate,
            ),
            base_env,
            cwd=ROOT,
        )
        wait_for_port(host, portal_port, opts.start_timeout, portal.proc)
        portal_base = f"http://{host}:{portal_port}"
        portal_url, admin_url = simulator_urls(portal_base)

        # 4. The API under chalice local, the worker behind the poller: same env as Lambda.
        env = {
            **base_env,
            **stage_environment(outputs, opts.stage),
            "PORTAL_URL": portal_url,
            **opts.extra_env,
        }
        _check_chalice_stage(opts.stage, env)
        api = self.processes.spawn(
            "api",
            [
                *_chalice_argv(),
                "local",
                "--no-autoreload",
                "--stage",
                opts.stage,
                "--host",
                host,
                "--port",
                str(api_port),
            ],
            env,
            cwd=ROOT,
        )
        wait_for_port(host, api_port, opts.start_timeout, api.proc)
        stats_dir = self.log_dir / "stats"
        stats_dir.mkdir(parents=True, exist_ok=True)
        for index in range(max(1, opts.pollers)):
            argv = [
                _python(),
                "-m",
                "infra.local.poller",
                "--queue-url",
                outputs["SyncQueueUrl"],
                "--stats",
                str(stats_dir / f"poller-{index}.json"),
            ]
            # One poller also runs the scheduled jobs, as EventBridge would: once per tick.
            if index == 0:
                argv += ["--schedule-interval", str(opts.schedule_interval)]
            self.processes.spawn(f"poller-{index}", argv, env, cwd=ROOT)

        self.info = StackInfo(
            stage=opts.stage,
            aws_endpoint=endpoint,
            api_url=f"http://{host}:{api_port}",
            portal_url=portal_url,
            portal_admin_url=admin_url,
            portal_base_url=portal_base,
            outputs=outputs,
            env=env,
            source_secrets=source_secrets,
            consumer=CONSUMER,
            consumer_token=token,
            log_dir=self.log_dir,
            stats_dir=stats_dir,
        )
        _wait_http(self.info.api_url + "/v1/schemas", opts.start_timeout, api.proc)
        return self.info

    # -- seeding ---------------------------------------------------------------------------
    def _seed_sources(self, prefix: str) -> dict[str, str]:
        assert self.session is not None
        client = self.session.client("secretsmanager")
        generated: dict[str, str] = {}
        for source, registration in source_registrations().items():
            secret = "whsec_" + _b64(secrets.token_bytes(32))
            generated[source] = secret
            client.create_secret(
                Name=f"{prefix}/sources/{source}",
                Description=f"Standard Webhooks secrets of {source} (generated for this run)",
                SecretString=json.dumps({"secrets": [secret], **registration}),
            )
        return generated

    def _seed_consumer(self, prefix: str) -> str:
        assert self.session is not None
        from chalicelib.auth import new_token, token_sha256

        token = new_token()
        digest = token_sha256(token)
        body = {CONSUMER: {"token_sha256": digest, "scopes": ["read", "feed"]}}
        self.session.client("secretsmanager").put_secret_value(
            SecretId=f"{prefix}/consumers", SecretString=json.dumps(body)
        )
        return token


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


def _base_env(endpoint: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in {"PYTHONPATH", "CHALICE_STAGE"}
    }
    env.update(FAKE_CREDENTIALS)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _check_chalice_stage(stage: str, env: dict[str, str]) -> None:
    """chalice local overlays the stage's environment_variables: they must agree with ours."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stage_env = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    clashes = {k: (v, env[k]) for k, v in stage_env.items() if k in env and env[k] != v}
    if clashes:
        detail = ", ".join(f"{k}: config {a!r} vs stack {b!r}" for k, (a, b) in clashes.items())
        raise RuntimeError(
            f".chalice/config.json stage {stage!r} disagrees with the stack outputs ({detail}); "
            f"run `python -m infra.stage_config {stage} --endpoint ...` or fix the config"
        )


def _wait_http(url: str, timeout: float, proc: Any) -> None:
    deadline = time.monotonic() + timeout
    last: str = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"API exited with code {proc.returncode}; see its log")
        try:
            response = requests.get(url, timeout=5)
            if response.status_code < 500:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise TimeoutError(f"API not answering at {url} ({last})")


# -- the portal simulator (owned by the portal work; adapted to its CLI here) ----------------
def simulator_argv(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    error_rate: float,
    latency_ms: int,
    stall_rate: float,
) -> list[str]:
    return [
        _python(),
        "-m",
        "infra.local.portal_simulator",
        "--host",
        host,
        "--port",
        str(port),
        "--username",
        username,
        "--password",
        password,
        "--error-rate",
        str(error_rate),
        "--latency-ms",
        str(latency_ms),
        "--stall-rate",
        str(stall_rate),
    ]


def simulator_urls(base: str) -> tuple[str, str]:
    """(SOAP endpoint, admin JSON endpoint) of a simulator listening at `base`."""
    from infra.local.portal_simulator.app import SOAP_PATH

    return f"{base}{SOAP_PATH}", f"{base}/admin"
