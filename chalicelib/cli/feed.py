"""`feed follow`: the reference consumer of the licence change feed.

It follows `next` cursors page by page and, after each page, saves the cursor to the state
file atomically (a temp file in the same directory, fsync, rename), so a restart resumes
where it stopped: at worst the last page is fetched again, never is one skipped. With
`--output` the entries are appended to a JSON Lines file before the cursor is saved, and on
resume entries at or below the file's last sequence are skipped, so the file holds every
entry exactly once even across a crash between the two writes.

Standard library HTTP only: the tool runs wherever Python does, no extra packages needed
(tqdm draws the progress bar when it is installed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

FEED_PATH = "/v1/feeds/licences"
_TRANSIENT = frozenset({429, 500, 502, 503, 504})


class FeedError(Exception):
    """The feed answered a client error (bad credential, bad cursor): retrying will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


@dataclass
class Page:
    entries: list[dict[str, Any]]
    next: str
    has_more: bool
    etag: str | None


@dataclass
class FollowResult:
    entries: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None
    pages: int = 0
    last_sequence: int = 0


def feed_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(FEED_PATH) else base + FEED_PATH


def load_state(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return value if isinstance(value, dict) else {}


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically: a reader (or a restart) sees the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(state, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _last_sequence_in(output: Path) -> int:
    last = 0
    if output.exists():
        with output.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    last = max(last, int(json.loads(line)["sequence"]))
    return last


def fetch_page(
    url: str,
    credential: str,
    *,
    after: str | None,
    limit: int,
    types: tuple[str, ...] = (),
    districts: tuple[str, ...] = (),
    etag: str | None = None,
    timeout: float = 30.0,
) -> Page | None:
    """One page, or None when `etag` still matches (304: nothing new)."""
    query: dict[str, str] = {"limit": str(limit)}
    if after:
        query["after"] = after
    if types:
        query["types"] = ",".join(types)
    if districts:
        query["districts"] = ",".join(districts)
    headers = {"Authorization": f"Bearer {credential}", "Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's, http(s) only
        f"{url}?{urllib.parse.urlencode(query)}", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            tag = response.headers.get("ETag")
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return None
        detail = error.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = str(json.loads(detail).get("detail", detail))
        raise FeedError(error.code, detail) from None
    # Decimal keeps any fractional number exactly as the feed wrote it.
    body = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    return Page(body["entries"], body["next"], bool(body["has_more"]), tag)


def follow(
    url: str,
    credential: str,
    *,
    state_file: Path | None = None,
    output: Path | None = None,
    limit: int = 500,
    types: tuple[str, ...] = (),
    districts: tuple[str, ...] = (),
    until_caught_up: bool = True,
    poll_interval: float = 2.0,
    max_pages: int | None = None,
    retries: int = 8,
    on_page: Callable[[list[dict[str, Any]]], None] | None = None,
    progress: bool = False,
    keep_entries: bool = True,
) -> FollowResult:
    """Follow the feed from the saved cursor (or the start) and return what was read.

    Stops when caught up (`until_caught_up`), after `max_pages`, or on Ctrl-C; otherwise
    polls every `poll_interval` seconds. Transient errors (429, 5xx, network) are retried
    with backoff; client errors raise FeedError.
    """
    url = feed_url(url)
    state = load_state(state_file) if state_file else {}
    result = FollowResult(cursor=state.get("cursor"), last_sequence=int(state.get("sequence", 0)))
    already_written = _last_sequence_in(output) if output else 0
    etag: str | None = None
    bar = _progress_bar(enabled=progress, initial=int(state.get("count", 0)))
    count = int(state.get("count", 0))
    fetch = _retrying(retries)
    try:
        while max_pages is None or result.pages < max_pages:
            page = fetch(
                url,
                credential,
                after=result.cursor,
                limit=limit,
                types=types,
                districts=districts,
                etag=etag,
            )
            if page is None:  # 304: the last page has not grown
                if until_caught_up:
                    break
                time.sleep(poll_interval)
                continue
            result.pages += 1
            fresh = [e for e in page.entries if int(e["sequence"]) > already_written]
            if output and fresh:
                _append(output, fresh)
            if page.entries:
                result.last_sequence = int(page.entries[-1]["sequence"])
            if keep_entries:
                result.entries.extend(page.entries)
            if on_page is not None:
                on_page(page.entries)
            count += len(page.entries)
            result.cursor = page.next
            if state_file:
                save_state(
                    state_file,
                    {"cursor": page.next, "sequence": result.last_sequence, "count": count},
                )
            bar(len(page.entries), result.last_sequence)
            if page.has_more:
                etag = None
                continue
            if until_caught_up:
                break
            # Caught up: ask for the same page again; its ETag turns "nothing new" into a 304.
            etag = page.etag if not page.entries else None
            time.sleep(poll_interval)
    except KeyboardInterrupt:
        pass
    finally:
        bar(0, None, close=True)
    return result


def _retrying(retries: int) -> Callable[..., Page | None]:
    """fetch_page, retrying 429/5xx and network errors with capped exponential backoff."""

    def fetch(*args: Any, **kwargs: Any) -> Page | None:
        for attempt in range(retries + 1):
            try:
                return fetch_page(*args, **kwargs)
            except FeedError as error:
                if error.status not in _TRANSIENT or attempt == retries:
                    raise
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if attempt == retries:
                    raise
            time.sleep(min(30.0, 0.2 * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    return fetch


def collect(url: str, credential: str, **options: Any) -> list[dict[str, Any]]:
    """Every entry from the start of the feed until caught up (the end-to-end check uses it)."""
    return follow(url, credential, until_caught_up=True, **options).entries


def _append(output: Path, entries: list[dict[str, Any]]) -> None:
    from chalicelib.jsonparse import encode_json

    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("ab") as out:
        for entry in entries:
            out.write(encode_json(entry) + b"\n")
        out.flush()
        os.fsync(out.fileno())


def _progress_bar(*, enabled: bool, initial: int) -> Callable[..., None]:
    if not enabled:
        return lambda *_args, **_kw: None
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None:

        def plain(n: int, sequence: int | None, close: bool = False) -> None:
            if n:
                print(f"+{n} entries, at sequence {sequence}", file=sys.stderr)

        return plain
    # disable=None: no bar (and no carriage returns) when stderr is not a terminal, e.g. in CI.
    bar = tqdm(initial=initial, unit=" entries", desc="feed", file=sys.stderr, disable=None)

    def update(n: int, sequence: int | None, close: bool = False) -> None:
        if close:
            bar.close()
            return
        bar.update(n)
        if sequence is not None:
            bar.set_postfix(sequence=sequence)

    return update


def _run(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("LICENCE_BRIDGE_URL", "")
    if not url:
        print("the API's URL is needed: --url or LICENCE_BRIDGE_URL", file=sys.stderr)
        return 2
    credential = args.credential or os.environ.get("LICENCE_BRIDGE_FEED_TOKEN", "")
    if not credential:
        print("a credential is needed: --credential or LICENCE_BRIDGE_FEED_TOKEN", file=sys.stderr)
        return 2
    try:
        result = follow(
            url,
            credential,
            state_file=Path(args.state),
            output=Path(args.output) if args.output else None,
            limit=args.limit,
            types=tuple(t for t in args.types.split(",") if t) if args.types else (),
            districts=tuple(d for d in args.districts.split(",") if d) if args.districts else (),
            until_caught_up=args.until_caught_up,
            poll_interval=args.interval,
            progress=not args.quiet,
            keep_entries=False,
        )
    except FeedError as error:
        print(f"feed follow: {error}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {"pages": result.pages, "last_sequence": result.last_sequence, "state": args.state}
        )
    )
    return 0


def register(subparsers: Any) -> None:
    feed = subparsers.add_parser("feed", help="the licence change feed")
    commands = feed.add_subparsers(dest="feed_command", required=True)
    follow_cmd = commands.add_parser(
        "follow", help="follow the feed, saving the cursor after each page"
    )
    follow_cmd.add_argument(
        "--url", help="API base URL, or the feed's URL (default: $LICENCE_BRIDGE_URL)"
    )
    follow_cmd.add_argument(
        "--credential",
        help="consumer bearer token (default: $LICENCE_BRIDGE_FEED_TOKEN, kept out of ps)",
    )
    follow_cmd.add_argument("--state", required=True, help="cursor state file (resumes from it)")
    follow_cmd.add_argument("--output", help="append entries to this JSON Lines file")
    follow_cmd.add_argument("--limit", type=int, default=500)
    follow_cmd.add_argument("--types", help="comma-separated licence type codes")
    follow_cmd.add_argument("--districts", help="comma-separated district numbers")
    follow_cmd.add_argument("--until-caught-up", action="store_true", help="stop when caught up")
    follow_cmd.add_argument("--interval", type=float, default=2.0, help="poll interval, seconds")
    follow_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    follow_cmd.set_defaults(handler=_run)
