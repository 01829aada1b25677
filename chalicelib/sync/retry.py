"""The in-process retry policy for transient portal outcomes (tenacity).

Exponential backoff with jitter, honouring a Busy fault's retryAfterSeconds; the stop never
lets an attempt start that the Lambda could not finish: it looks at the time left *after*
the coming sleep (tenacity computes the wait before asking the stop). `reraise=True`, so the
caller sees our PortalUnavailableError, never tenacity's RetryError.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from chalicelib.portal.errors import PortalUnavailableError


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_wait_s: float = 0.2
    max_wait_s: float = 5.0
    jitter_s: float = 0.3
    # Time an attempt needs to be worth starting: the client's minimum read window plus
    # its margin (kept for recording the outcome).
    attempt_floor_s: float = 1.5


def _retryable(error: BaseException) -> bool:
    return isinstance(error, PortalUnavailableError) and error.retry_in_process


class _WaitWithRetryAfter:
    """Exponential jitter, but never sooner than the portal asked (capped at max_wait)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._base = wait_exponential_jitter(
            multiplier=policy.initial_wait_s, max=policy.max_wait_s, jitter=policy.jitter_s
        )
        self._max = policy.max_wait_s

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self._base(state))
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, PortalUnavailableError) and error.retry_after_seconds:
            wait = max(wait, min(error.retry_after_seconds, self._max))
        return wait


class _StopWhenNoTime(stop_base):
    """Stop when, after the coming sleep, less than `floor` seconds would be left."""

    def __init__(self, time_left: Callable[[], float], floor: float) -> None:
        self._time_left = time_left
        self._floor = floor

    def __call__(self, state: RetryCallState) -> bool:
        return self._time_left() - state.upcoming_sleep < self._floor


def portal_retrying(
    policy: RetryPolicy,
    time_left: Callable[[], float],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """A Retrying for one licence's portal call; `time_left()` is seconds the budget allows."""
    return Retrying(
        retry=retry_if_exception(_retryable),
        wait=_WaitWithRetryAfter(policy),
        stop=stop_any(
            stop_after_attempt(policy.max_attempts),
            _StopWhenNoTime(time_left, policy.attempt_floor_s),
        ),
        sleep=sleep,
        reraise=True,
    )
