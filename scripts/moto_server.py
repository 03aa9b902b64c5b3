#!/usr/bin/env python3
"""moto in server mode, for the local AWS harness.

Same command line as moto's own `moto_server` (`-H host -p port`, ...). Differences:

* Step Functions executes the real ASL (`stepfunctions.execute_state_machine`), and Lambda
  uses moto's Docker-free backend (`lambda.use_docker = false`): both are switched on before
  the server starts, as `POST /moto-api/config` would.
* With `FERRY_LAMBDA_FORWARD_URL` set (e.g. `http://127.0.0.1:9000`, a `cargo lambda watch`
  invoke endpoint), every Lambda invocation that moto sees -- `lambda:Invoke` over HTTP, a
  Step Functions `lambda:invoke` task (moto's state machine interpreter calls the Lambda API
  of this same server), an SQS event source mapping -- is forwarded to
  `POST {url}/2015-03-31/functions/{name}/invocations`, `{name}` being the moto function's
  name (so a moto function named `discover`, or any ARN whose last part is `discover`,
  reaches the `discover` binary of the workspace). A function whose own environment sets
  `FERRY_LAMBDA_FORWARD_URL` (and `FERRY_LAMBDA_BINARY`, the binary's name) is forwarded
  there instead, so several stacks with their own watch share one moto. The forwarded answer is the payload; an
  answer that is a function error (cargo lambda watch answers it with a non-2xx status and
  an `{"errorType", "errorMessage"}` body) sets `X-Amz-Function-Error: Unhandled`, which
  boto/the SDKs report as `FunctionError` and the state machine sees as an error named
  after `errorType` (what Retry/Catch match). A `cargo lambda watch --timeout` expiry (HTTP
  408) becomes `Sandbox.Timedout`, as on Lambda; an unknown binary (404) or an unreachable
  endpoint becomes `Lambda.ServiceException`.
* SQS event source mappings: moto delivers each message synchronously, one record per
  invocation, during `SendMessage`, and deletes it when the invocation did not fail. Here a
  response with a non-empty `batchItemFailures` (`ReportBatchItemFailures`) also counts as a
  failure: the message is made visible again (moto redelivers only on the queue's next
  `SendMessage`; nothing polls).

Two moto 5.1.14 bugs are worked around whether forwarding or not: the SQS event's `body` was
moto's XML-escaped one (`&quot;` for `"`), and a state machine could not be started a
second time once an execution had run (moto deep-copies it with its executions' locks).

Without `FERRY_LAMBDA_FORWARD_URL` the Lambda backend is moto's plain Docker-free one (the
payload echoed back), and everything else is plain moto.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional, Union

FORWARD_ENV = "FERRY_LAMBDA_FORWARD_URL"
# In a function's environment: the `cargo lambda watch` binary that runs it (default: its name).
BINARY_ENV = "FERRY_LAMBDA_BINARY"
# An invocation is waited for at most this long (Lambda's own maximum is 900 s).
FORWARD_TIMEOUT_SECONDS = float(os.environ.get("FERRY_LAMBDA_FORWARD_TIMEOUT", "960"))


def forward_url() -> Optional[str]:
    url = os.environ.get(FORWARD_ENV, "").strip()
    return url.rstrip("/") or None


def forward_invoke(base_url: str, name: str, body: Union[str, bytes, None]) -> tuple[bool, bytes]:
    """POSTs one invocation to `cargo lambda watch`; returns (is_function_error, payload)."""
    if body is None or body == "":
        data = b"{}"
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = bytes(body)
    url = f"{base_url}/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/invocations"
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=FORWARD_TIMEOUT_SECONDS) as response:
            payload = response.read()
            error = response.headers.get("X-Amz-Function-Error") or response.headers.get(
                "Lambda-Runtime-Function-Error-Type"
            )
            return bool(error), payload
    except urllib.error.HTTPError as failure:
        # cargo lambda watch answers a function error (Diagnostic / panic) with a 5xx and the
        # error document as body.
        payload = failure.read() or b""
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        if failure.code == 408:
            # `cargo lambda watch --timeout N`: the invocation outlived N seconds (empty body).
            # Lambda reports a timeout as this function error.
            payload = json.dumps(
                {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out ({url} answered 408)"}
            ).encode("utf-8")
        elif not (isinstance(document, dict) and "errorType" in document):
            # Not a function error: e.g. 404 "Missing function" (no such binary in the
            # workspace). Surfaced as Lambda's own service error.
            payload = json.dumps(
                {
                    "errorType": "Lambda.ServiceException",
                    "errorMessage": f"{url} answered {failure.code}: {payload.decode('utf-8', 'replace')}",
                }
            ).encode("utf-8")
        return True, payload
    except (urllib.error.URLError, OSError) as failure:
        # The invoke endpoint is not there (or timed out): Lambda's own service error.
        return True, json.dumps(
            {"errorType": "Lambda.ServiceException", "errorMessage": f"forwarding to {url} failed: {failure}"}
        ).encode("utf-8")


def install() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {**default_user_config.get("lambda", {}), "use_docker": False}

    plain_invoke = LambdaSimpleBackend.invoke

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: Optional[str],
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Optional[Union[str, bytes]]:
        # Resolves a name, a partial or a full ARN alike (and 404s an unknown function).
        function = self.get_function(function_name, qualifier)
        # A function's own environment may name its watch endpoint and binary, so several
        # stacks (one per test, each with its own `cargo lambda watch`) share one moto.
        environment = getattr(function, "environment_vars", None) or {}
        base_url = (environment.get(FORWARD_ENV) or "").rstrip("/") or forward_url()
        if base_url is None:
            return plain_invoke(self, function_name, qualifier, body, headers, response_headers)
        name = environment.get(BINARY_ENV) or function.function_name
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            threading.Thread(target=forward_invoke, args=(base_url, name, body), daemon=True).start()
            return b""
        errored, payload = forward_invoke(base_url, name, body)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["Content-Length"] = str(len(payload))
        return payload

    def send_sqs_message(self: LambdaSimpleBackend, function_arn: str, message: Any, queue_arn: str) -> bool:
        event = {
            "Records": [
                {
                    "messageId": message.id,
                    "receiptHandle": message.receipt_handle,
                    # moto's `body` is XML-escaped (for its Query responses); Lambda gets the raw one.
                    "body": getattr(message, "original_body", message.body),
                    "attributes": {
                        "ApproximateReceiveCount": str(getattr(message, "approximate_receive_count", 1)),
                        "SentTimestamp": str(getattr(message, "sent_timestamp", 0) or 0),
                        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                        "ApproximateFirstReceiveTimestamp": str(
                            getattr(message, "approximate_first_receive_timestamp", 0) or 0
                        ),
                    },
                    "messageAttributes": {},
                    "md5OfBody": getattr(message, "body_md5", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": self.region_name,
                }
            ]
        }
        if queue_arn.endswith(".fifo"):
            event["Records"][0]["attributes"].update(
                {"MessageGroupId": message.group_id, "MessageDeduplicationId": message.deduplication_id}
            )
        response_headers: dict[str, Any] = {}
        payload = self.invoke(
            function_name=function_arn,
            qualifier=None,
            body=json.dumps(event),
            headers={},
            response_headers=response_headers,
        )
        if "x-amz-function-error" in response_headers:
            return False
        try:
            answer = json.loads(payload or b"null")
        except (ValueError, TypeError):
            return True
        return not (isinstance(answer, dict) and answer.get("batchItemFailures"))

    # moto deep-copies the state machine at every StartExecution, executions included; an
    # execution that has run holds thread locks, so the second StartExecution of a state
    # machine fails ("cannot pickle '_thread.RLock' object"). The copy never needs them.
    from moto.stepfunctions.models import StateMachineInstance

    def deepcopy_without_executions(self: StateMachineInstance, memo: dict) -> StateMachineInstance:
        import copy

        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            setattr(clone, key, [] if key == "executions" else copy.deepcopy(value, memo))
        return clone

    StateMachineInstance.__deepcopy__ = deepcopy_without_executions  # type: ignore[attr-defined]

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    LambdaSimpleBackend._send_sqs_message = send_sqs_message  # type: ignore[method-assign]


def main(argv: Optional[list[str]] = None) -> None:
    install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
