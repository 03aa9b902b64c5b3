#!/usr/bin/env python3
"""Creates the serverless stack's resources in an AWS emulator (moto), as infra/template.yaml
declares them, for the local end-to-end test: the table, the bucket, the chunk queue and its
dead-letter queue, the KMS key, one Lambda function per binary (their code runs under
`cargo lambda watch`, which moto forwards invocations to), the load function's SQS event
source, and both state machines from infra/*.asl.json with their ${...} placeholders
resolved. moto's CloudFormation ignores AWS::Serverless::*, so the resources are made with
SDK calls here.

    serverless_stack.py --endpoint URL --suffix NAME --forward-url URL

prints one JSON object: names, URLs and ARNs.
"""

import argparse
import io
import json
import pathlib
import zipfile

import boto3

FUNCTIONS = ["api", "oauth-callback", "notify", "discover", "extract", "load", "finalize", "rollback"]
# ${Placeholder} in the ASL -> function name.
PLACEHOLDERS = {
    "NotifyFunctionArn": "notify",
    "DiscoverFunctionArn": "discover",
    "ExtractFunctionArn": "extract",
    "FinalizeFunctionArn": "finalize",
    "RollbackFunctionArn": "rollback",
    "LoadFunctionArn": "load",
    "ApiFunctionArn": "api",
    "OauthCallbackFunctionArn": "oauth-callback",
}
ROOT = pathlib.Path(__file__).resolve().parent.parent


def placeholder_zip():
    # moto stores the code; the code that runs is the Rust binary under cargo lambda watch.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--suffix", required=True)
    parser.add_argument("--forward-url", required=True)
    args = parser.parse_args()
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def client(name):
        return session.client(name, endpoint_url=args.endpoint)

    suffix = args.suffix
    out = {}

    dynamodb = client("dynamodb")
    table = f"ferry-{suffix}"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    out["table"] = table

    s3 = client("s3")
    bucket = f"ferry-staging-{suffix}"
    s3.create_bucket(Bucket=bucket)
    out["bucket"] = bucket

    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"ferry-chunks-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"ferry-chunks-{suffix}",
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    out["queue_url"] = queue_url
    out["queue_arn"] = queue_arn
    out["dead_letter_queue_url"] = dlq_url

    kms = client("kms")
    out["kms_key_id"] = kms.create_key(Description=f"ferry refresh tokens {suffix}")["KeyMetadata"][
        "KeyId"
    ]

    iam = client("iam")
    role = iam.create_role(
        RoleName=f"ferry-{suffix}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]

    awslambda = client("lambda")
    code = placeholder_zip()
    arns = {}
    for name in FUNCTIONS:
        # Function names are per account: the suffix keeps two stacks apart; the binary
        # name tells the forwarding emulator which `cargo lambda watch` function runs it.
        function = awslambda.create_function(
            FunctionName=f"{name}-{suffix}",
            Runtime="provided.al2023",
            Role=role,
            Handler="bootstrap",
            Code={"ZipFile": code},
            Timeout=300,
            Environment={
                "Variables": {
                    "FERRY_LAMBDA_FORWARD_URL": args.forward_url,
                    "FERRY_LAMBDA_BINARY": name,
                }
            },
        )
        arns[name] = function["FunctionArn"]
    out["functions"] = arns
    mapping = awslambda.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=arns["load"],
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    out["event_source_mapping"] = mapping["UUID"]

    sfn = client("stepfunctions")
    machines = {}
    for key, file in [("migration", "migration.asl.json"), ("rollback", "rollback.asl.json")]:
        definition = (ROOT / "infra" / file).read_text()
        for placeholder, function in PLACEHOLDERS.items():
            definition = definition.replace("${" + placeholder + "}", arns[function])
        machines[key] = sfn.create_state_machine(
            name=f"ferry-{key}-{suffix}", definition=definition, roleArn=role
        )["stateMachineArn"]
    out["state_machines"] = machines
    print(json.dumps(out))


if __name__ == "__main__":
    main()
