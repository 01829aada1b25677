"""moto in server mode, made safe for concurrent DynamoDB transactions.

`python -m moto.server` serves requests on threads, and moto's TransactWriteItems backs up
every table it touches with a deep copy and, when any condition fails, puts that copy back:
under concurrent writers (the API's threads, the sync pollers) a cancelled transaction
silently wipes out what other requests committed meanwhile, and each transaction costs time
proportional to the table's size. Real DynamoDB does neither. So this launcher:

- serialises DynamoDB requests (one lock, taken only for `X-Amz-Target: DynamoDB_*`, so SQS
  long polls and S3 are not held up), which makes each transaction atomic as in AWS;
- checks every condition of a transaction before writing anything, and on a failure while
  writing restores only the items the transaction touched.

Everything else is stock moto. Run: `python -m infra.local.moto_server -H 127.0.0.1 -p PORT`.
"""

from __future__ import annotations

import argparse
import copy
import signal
import sys
import threading
from typing import Any

_DYNAMODB_LOCK = threading.RLock()


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDBBackend.transact_write_items: all conditions first, then the writes."""
    import importlib

    m: Any = importlib.import_module("moto.dynamodb.models")

    if len(transact_items) > 100:
        raise m.TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise m.TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        original: Any = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                table = self.get_table(table_name)
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in seen:
                raise m.MultipleTransactionsException()
            seen.add(marker)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                names = op.get("ExpressionAttributeNames")
                check = m.get_filter_expression(
                    condition, names, op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original = current.to_json()["Attributes"]
                    raise m.ConditionalCheckFailed(item=original)
            plan.append((op_type, table_name, key, op))
            errors.append((None, None, None))
        except (m.MultipleTransactionsException, m.MockValidationException):
            raise
        except m.ConditionalCheckFailed as failed:
            errors.append(("ConditionalCheckFailed", str(failed.message), original))
        except Exception as failed:
            errors.append((type(failed).__name__, str(failed), original))
    if any(code is not None for code, _, _ in errors):
        raise m.TransactionCanceledException(errors)
    _apply(self, plan)


def _apply(self: Any, plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]]) -> None:
    """The writes of a transaction whose conditions all held; undone if one of them fails."""
    undo: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    try:
        for op_type, table_name, key, op in plan:
            if op_type == "ConditionCheck":
                continue
            before = self.get_item(table_name, key)
            undo.append(
                (table_name, key, copy.deepcopy(before.to_json()["Attributes"]) if before else None)
            )
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            else:
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table_name, key, before_attrs in reversed(undo):
            if before_attrs is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before_attrs)
        raise


class SerialisedDynamoDB:
    """WSGI middleware: DynamoDB requests one at a time; everything else as it comes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _DYNAMODB_LOCK:
            # Consume the body inside the lock: the response is fully built here.
            return list(self.app(environ, start_response))


def patch_moto() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.moto_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)

    import os

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(args.port))
    patch_moto()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialisedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
