"""Licence Bridge on Chalice: routes, the sync worker and the scheduled jobs, wired only.

Everything else lives in chalicelib/. Reading this file lists the deployed surface.
"""

from typing import Any

from chalice import Chalice, Rate

from chalicelib import problems
from chalicelib.api import feed, reading, webhooks

app = Chalice(app_name="licence-bridge")

# Every answer gets a correlation id; any error Chalice answers itself becomes problem+json.
problems.install(app)
app.register_blueprint(webhooks.blueprint)
# GET /v1/licences/* check bearer tokens themselves (chalicelib/auth.py); /v1/track is public.
app.register_blueprint(reading.blueprint)
# GET /v1/feeds/licences (bearer, scope feed); GET /v1/schemas* are public.
app.register_blueprint(feed.blueprint)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def outbox_sweeper(event: Any) -> None:
    """Re-send sync messages whose send was not confirmed after their commit."""
    from chalicelib import outbox

    outbox.sweep_from_wiring()


@app.lambda_function(name="sync_worker")
def sync_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS -> the national licence portal; returns batchItemFailures. The SQS trigger is the
    EventSourceMapping in infra/app-extras.yaml (on_sqs_message cannot report partial
    failures). Imported here, not at the top, so zeep stays out of the API's cold start."""
    from chalicelib.sync.worker import handle_batch

    return handle_batch(event, context)
