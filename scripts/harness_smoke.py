#!/usr/bin/env python3
"""Smoke test of the local AWS harness (scripts/moto_server.py) and of the state machines.

Starts its own moto through scripts/moto_server.py with FERRY_LAMBDA_FORWARD_URL pointing at
a Lambda invoke endpoint, creates the contract's functions in moto, and runs the real
infra/migration.asl.json and infra/rollback.asl.json against stand-in functions that answer
the serverless contract's shapes:

* the migration goes through both task-token waits (completed here with SendTaskSuccess),
  the phase Map, the per-object Map, an API-budget pause and the load check, and succeeds;
* a function error (errorType "Fatal") is caught, notified as `failed`, and fails the run;
* a Retryable error is retried by the state machine;
* the rollback machine succeeds and notifies `rolled_back`;
* an SQS event source mapping delivers to the forwarded `load`; a batch item failure keeps
  the message in the queue.

By default the invoke endpoint is an in-process stand-in for `cargo lambda watch` (same
URL shape, same error answers: HTTP 500 with {"errorType", "errorMessage"}), so this runs in
the test command without building Rust. `--forward-url URL --fake-log PATH` runs the same
checks against a real `cargo lambda watch` serving Rust stand-ins (see infra/README.md).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
FUNCTIONS = ["notify", "discover", "extract", "finalize", "rollback", "load"]


def fake_answer(function: str, payload: dict) -> tuple[int, dict]:
    """The stand-in functions (same as the Rust ones of the README's manual check)."""
    if isinstance(payload, dict) and isinstance(payload.get("fail"), str):
        kind = payload["fail"]
        return 500, {"errorType": kind, "errorMessage": f"asked to fail with {kind}"}
    if payload.get("migration_id") == f"fail-{function}":
        return 500, {"errorType": "Fatal", "errorMessage": "asked to fail with Fatal"}
    action = payload.get("action")
    if function == "notify":
        return 200, {"notified": True}
    if function == "discover":
        if action == "discover":
            return 200, {
                # The run Discover opened (a resumed run answers its own id).
                "run_id": payload.get("run_id"),
                "resumed": False,
                "phases": [{"phase": 0, "objects": ["User", "Account"]}, {"phase": 1, "objects": ["Contact"]}],
                "objects": 3,
            }
        # The dry run; `stale` says the selections changed while it ran (it runs again).
        return 200, {"report_key": "t/r/dry-run.json", "stale": False}
    if function == "extract":
        if payload.get("state") is None:
            return 200, {"done": False, "state": {"page": 1}, "wait_seconds": 1}
        return 200, {"done": True, "state": None, "wait_seconds": 0}
    if function == "finalize":
        if action == "phase_status":
            return 200, {"loaded": True, "chunks": 1, "loaded_chunks": 1}
        return 200, {"status": "succeeded", "report_key": "t/r/final.json"}
    if function == "rollback":
        return 200, {"status": "rolled_back", "report_key": "t/r/rollback.json"}
    if function == "load":
        failures = [
            {"itemIdentifier": r["messageId"]} for r in payload.get("Records", []) if "fail" in r.get("body", "")
        ]
        return 200, {"batchItemFailures": failures}
    return 200, {"echoed": payload}


class FakeWatch(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log_path: str):
        self.log_path = log_path
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FakeWatchHandler)


class FakeWatchHandler(BaseHTTPRequestHandler):
    server: FakeWatch

    def do_POST(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        # 2015-03-31/functions/{name}/invocations
        if len(parts) != 4 or parts[1] != "functions" or parts[3] != "invocations" or parts[2] not in FUNCTIONS:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"title":"Missing function"}')
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")) or 0)
        payload = json.loads(body or b"{}")
        with self.server.lock, open(self.server.log_path, "a") as log:
            log.write(json.dumps({"function": parts[2], "input": payload}) + "\n")
        status, answer = fake_answer(parts[2], payload)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def calls(log_path: str, function: str | None = None) -> list[dict]:
    try:
        lines = Path(log_path).read_text().splitlines()
    except FileNotFoundError:
        return []
    entries = [json.loads(line) for line in lines if line.strip()]
    return [e for e in entries if function is None or e["function"] == function]


def wait_for(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def token_for(log_path: str, migration_id: str, event: str) -> str:
    def find():
        for e in calls(log_path, "notify"):
            i = e["input"]
            if i.get("migration_id") == migration_id and i.get("event") == event and i.get("task_token"):
                return i["task_token"]
        return None

    return wait_for(f"{event} token of {migration_id}", find)


def finished(sfn, arn: str, timeout: float = 90.0) -> dict:
    def done():
        d = sfn.describe_execution(executionArn=arn)
        return d if d["status"] != "RUNNING" else None

    return wait_for(f"execution {arn}", done, timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forward-url", help="a cargo lambda watch invoke endpoint (default: in-process stand-in)")
    parser.add_argument("--fake-log", help="FAKE_LOG of the Rust stand-ins (with --forward-url)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="ferry-harness-")
    if args.forward_url:
        if not args.fake_log:
            parser.error("--forward-url needs --fake-log")
        forward_url, log_path = args.forward_url, args.fake_log
    else:
        log_path = os.path.join(work, "calls.jsonl")
        watch = FakeWatch(log_path)
        threading.Thread(target=watch.serve_forever, daemon=True).start()
        forward_url = f"http://127.0.0.1:{watch.server_address[1]}"

    port = free_port()
    moto_log = open(os.path.join(work, "moto.log"), "w")
    env = dict(os.environ, FERRY_LAMBDA_FORWARD_URL=forward_url)
    moto = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=moto_log,
        stderr=subprocess.STDOUT,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for("moto", lambda: _up(endpoint), 30)
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        lam = session.client("lambda", endpoint_url=endpoint)
        sfn = session.client("stepfunctions", endpoint_url=endpoint)
        sqs = session.client("sqs", endpoint_url=endpoint)
        iam = session.client("iam", endpoint_url=endpoint)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        role = iam.create_role(RoleName="ferry-functions", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        run_checks(lam, sfn, sqs, role, log_path)
    except Exception:
        moto_log.flush()
        print(Path(moto_log.name).read_text()[-5000:], file=sys.stderr)
        raise
    finally:
        moto.terminate()
        moto.wait(10)
    print("harness smoke: 6 passed, 0 failed")
    return 0


def _up(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
        return True
    except OSError:
        return False


def run_checks(lam, sfn, sqs, role: str, log_path: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    arns = {}
    for name in FUNCTIONS:
        arns[name] = lam.create_function(
            FunctionName=name,
            Runtime="provided.al2023",
            Role=role,
            Handler="bootstrap",
            Code={"ZipFile": buffer.getvalue()},
            Architectures=["arm64"],
        )["FunctionArn"]

    # 1. A direct invocation's function error.
    answer = lam.invoke(FunctionName="notify", Payload=json.dumps({"fail": "Retryable"}))
    assert answer.get("FunctionError") == "Unhandled", answer
    assert json.load(answer["Payload"])["errorType"] == "Retryable"
    print("ok: invoke forwards, and a function error is FunctionError=Unhandled")

    def machine(file: str, name: str) -> str:
        definition = (ROOT / "infra" / file).read_text()
        for fn, arn in arns.items():
            definition = definition.replace("${%sFunctionArn}" % fn.capitalize(), arn)
        assert "${" not in definition, "unsubstituted placeholder"
        return sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]

    migration = machine("migration.asl.json", "ferry-migration")
    rollback = machine("rollback.asl.json", "ferry-rollback")

    # 2. The whole migration machine, through both task-token waits.
    identity = {"tenant": "acme", "migration_id": "m-ok", "run_id": "run-1"}
    arn = sfn.start_execution(stateMachineArn=migration, name="m-ok", input=json.dumps(identity))["executionArn"]
    sfn.send_task_success(taskToken=token_for(log_path, "m-ok", "awaiting_authorization"), output="{}")
    sfn.send_task_success(taskToken=token_for(log_path, "m-ok", "dry_run_ready"), output="{}")
    result = finished(sfn, arn)
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["final"] == {"status": "succeeded", "report_key": "t/r/final.json"}, output
    extracts = [e["input"] for e in calls(log_path, "extract") if e["input"].get("migration_id") == "m-ok"]
    objects = sorted(e["object"] for e in extracts)
    assert objects == ["Account", "Account", "Contact", "Contact", "User", "User"], objects
    assert all(set(e) == {"tenant", "migration_id", "run_id", "object", "state"} for e in extracts), extracts
    events = [e["input"]["event"] for e in calls(log_path, "notify") if e["input"].get("migration_id") == "m-ok"]
    assert events == ["awaiting_authorization", "dry_run_ready", "completed"], events
    print("ok: migration machine: tokens, phases, objects, API-budget pause, completion")

    # 3. A Fatal function error is caught, notified and fails the run.
    identity = {"tenant": "acme", "migration_id": "fail-discover", "run_id": "run-2"}
    arn = sfn.start_execution(stateMachineArn=migration, name="fail", input=json.dumps(identity))["executionArn"]
    sfn.send_task_success(taskToken=token_for(log_path, "fail-discover", "awaiting_authorization"), output="{}")
    result = finished(sfn, arn)
    assert result["status"] == "FAILED", result
    failed = [e["input"] for e in calls(log_path, "notify") if e["input"].get("event") == "failed"]
    assert failed and failed[-1]["error"]["Error"] == "Fatal", failed
    discovers = [e for e in calls(log_path, "discover") if e["input"].get("migration_id") == "fail-discover"]
    assert len(discovers) == 1, "Fatal must not be retried"
    print("ok: a Fatal error is caught, notified (event failed) and fails the execution, unretried")

    # 4. Retryable is retried (3 retries: 4 calls), then caught.
    identity = {"tenant": "acme", "migration_id": "retry", "run_id": "run-3", "fail": "Retryable"}
    retry_machine = sfn.create_state_machine(
        name="retry",
        roleArn=role,
        definition=json.dumps(
            {
                "StartAt": "Call",
                "States": {
                    "Call": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": arns["finalize"], "Payload.$": "$"},
                        "Retry": json.loads((ROOT / "infra" / "migration.asl.json").read_text())["States"]["Discover"][
                            "Retry"
                        ],
                        "End": True,
                    }
                },
            }
        ).replace('"IntervalSeconds": 2', '"IntervalSeconds": 1'),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=retry_machine, input=json.dumps(identity))["executionArn"]
    result = finished(sfn, arn)
    retried = [e for e in calls(log_path, "finalize") if e["input"].get("migration_id") == "retry"]
    assert result["status"] == "FAILED" and result.get("error") == "Retryable", result
    assert len(retried) == 4, len(retried)
    print("ok: Retryable is retried 3 times")

    # 5. The rollback machine.
    identity = {"tenant": "acme", "migration_id": "m-ok", "run_id": "run-1"}
    arn = sfn.start_execution(stateMachineArn=rollback, name="rb", input=json.dumps(identity))["executionArn"]
    result = finished(sfn, arn)
    assert result["status"] == "SUCCEEDED", result
    assert calls(log_path, "notify")[-1]["input"]["event"] == "rolled_back"
    print("ok: rollback machine")

    # 6. SQS event source mapping → the forwarded load; batch item failures stay queued.
    queue_url = sqs.create_queue(QueueName="ferry-chunks")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="load", BatchSize=4, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"chunk": 0}')
    loads = calls(log_path, "load")
    assert len(loads) == 1 and loads[0]["input"]["Records"][0]["body"] == '{"chunk": 0}', loads
    assert loads[0]["input"]["Records"][0]["eventSourceARN"] == queue_arn
    depth = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0", depth
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"chunk": 1, "fail": true}')
    depth = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1", depth
    print("ok: SQS event source mapping delivers to load; a batch item failure stays in the queue")


if __name__ == "__main__":
    sys.exit(main())
