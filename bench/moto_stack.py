"""moto in-process with our real stack (infra/stack.yaml), for the benchmarks."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def moto_stack(stage: str = "bench") -> Iterator[dict[str, str]]:
    """Yields the stack outputs; the process environment points chalicelib at them."""
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from infra.provision import provision, stage_environment

    logging.disable(logging.CRITICAL)  # per-request log lines would be timed too
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    try:
        with mock_aws():
            outputs = provision(boto3.session.Session(), stage)
            os.environ.update(stage_environment(outputs, stage))
            wiring.reset()
            yield outputs
    finally:
        wiring.reset()
        logging.disable(logging.NOTSET)
