"""The SAM template: lint-clean, transforms, matches the handlers' routes, and the layer builds for arm64."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loyalty_local.template import PROJECT_ROOT, TEMPLATE_PATH, load_template, read_stack

MODULES = {"MembersFunction": "members", "PurchasesFunction": "purchases", "RedemptionsFunction": "redemptions",
           "CatalogFunction": "catalog", "AdminFunction": "admin", "EngagementFunction": "engagement",
           "ReportsFunction": "reports", "MechanicsFunction": "mechanics"}


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sam_transform_succeeds() -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = load_template()
    # As after `sam package`: local code paths become S3 locations.
    for resource in template["Resources"].values():
        for name in ("CodeUri", "ContentUri"):
            if name in resource.get("Properties", {}):
                resource["Properties"][name] = "s3://artifacts/loyalty.zip"
    output = transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                                         "AWS::StackName": "loyalty", "AWS::Partition": "aws"},
                       NoManagedPolicies())
    kinds = {resource["Type"] for resource in output["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Api", "AWS::Lambda::EventSourceMapping",
            "AWS::Lambda::LayerVersion"} <= kinds
    api = next(r for r in output["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    scheme = api["Properties"]["Body"]["components"]["securitySchemes"]["CognitoJwt"]
    assert scheme["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    # Every route but the CORS preflight is behind the JWT authorizer
    for path, operations in api["Properties"]["Body"]["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security") == [{"CognitoJwt": []}], (method, path)


def test_every_template_route_is_served_by_its_handler() -> None:
    stack = read_stack()
    for route in stack.routes:
        if route.function not in MODULES:
            continue
        module = importlib.import_module(f"functions.{MODULES[route.function]}.handler")
        served = {(r.method, r.openapi_path) for r in module.app._static_routes + module.app._dynamic_routes}
        assert (route.method, route.path) in served, f"{route.method} {route.path} not in {route.function}"


def test_the_layer_requirements_match_the_project_dependencies() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (PROJECT_ROOT / "layers/loyalty/requirements.txt").read_text().splitlines()
    layer = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(layer) == sorted(project)


@pytest.mark.timeout(600)
def test_the_layer_builds_with_arm64_wheels_for_python_3_13(tmp_path: Path) -> None:
    # What `sam build` runs for BuildMethod: makefile, without Docker.
    result = subprocess.run(
        ["make", "-C", str(PROJECT_ROOT / "layers/loyalty"), "build-LoyaltyLayer", f"ARTIFACTS_DIR={tmp_path}",
         f"PYTHON={sys.executable}"], capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = tmp_path / "python"
    assert (built / "loyalty" / "domain" / "earning.py").exists()
    native = list(built.glob("pydantic_core/*.so"))
    assert native and all("cpython-313-aarch64-linux-gnu" in path.name for path in native)
    # The runtime provides botocore and boto3: the layer must not carry another copy
    for provided in ("botocore", "boto3", "s3transfer", "jmespath", "urllib3", "dateutil"):
        assert not (built / provided).exists(), provided
    # /opt is read-only: bytecode for the runtime's Python (3.13) only, or none when no 3.13 was found
    bytecode = [path.name for path in built.rglob("*.pyc")]
    if "layer bytecode compiled by" in result.stdout:
        assert bytecode and all(".cpython-313." in name for name in bytecode)
        assert (built / "loyalty" / "domain" / "__pycache__" / "earning.cpython-313.pyc").exists()
    else:
        assert "WARNING: no Python 3.13 found" in result.stdout and not bytecode


def test_what_aws_keeps_logs_and_limits_is_declared() -> None:
    # Given the template
    resources = load_template()["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}

    # Then the user pool (member ids are its subs) survives a stack deletion or replacement
    pool = resources["UserPool"]
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"
    # And every function logs to its own group, kept for LogRetentionDays
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    # And both APIs write access logs to groups with a retention
    http_logs = resources["HttpApi"]["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    rest_logs = resources["PartnerApi"]["Properties"]["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    for group in (http_logs, rest_logs):
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # And scheduled jobs run one at a time, their failures land in a queue with an alarm
    scheduler = functions["SchedulerFunction"]["Properties"]
    assert scheduler["ReservedConcurrentExecutions"] == 1
    failures = scheduler["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert any(r["Type"] == "AWS::CloudWatch::Alarm" and failures in str(r["Properties"]["Dimensions"])
               for r in resources.values())
    # And the stream consumer has concurrency of its own
    assert functions["StreamProcessorFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "StreamProcessorConcurrency"}


L, M, GSI1, GSI2 = "table/LoyaltyTable", "table/MetricsTable", "table/LoyaltyTable/index/GSI1", \
    "table/LoyaltyTable/index/GSI2"
GSI3 = "table/LoyaltyTable/index/GSI3"
POINTS = {"BatchGetItem", "PutItem", "UpdateItem"}
# What each function's code does with DynamoDB (written from the code, not from the template).
ALLOWED: dict[str, dict[str, set[str]]] = {
    "MembersFunction": {L: POINTS | {"DeleteItem", "Query"}},
    "PurchasesFunction": {L: POINTS},
    # Code claims count recent failures; a household pool's spend checks the household in its transaction.
    "RedemptionsFunction": {L: POINTS | {"Query", "ConditionCheckItem"}},
    "EngagementFunction": {L: POINTS},
    "MechanicsFunction": {L: POINTS},
    "CatalogFunction": {L: {"BatchGetItem", "Query"}, GSI1: {"Query"}},  # catalog pages: its own partitions
    # A retried code batch reads its chunks; the back office lists the audit log, versions, rosters.
    "AdminFunction": {L: POINTS | {"Query", "ConditionCheckItem"}, GSI1: {"Query"}, GSI3: {"Query"}},
    # ...and the ledger's checkpoints and a proof's chunk (their own partitions).
    "ReportsFunction": {L: {"BatchGetItem", "Query", "PutItem"}, M: {"BatchGetItem", "Query"}, GSI1: {"Query"}},
    "SchedulerFunction": {L: POINTS | {"Query", "Scan", "DescribeTable", "BatchWriteItem"},
                          GSI2: POINTS | {"Query", "Scan", "DescribeTable"}, GSI1: {"Query"},
                          M: {"BatchGetItem", "PutItem", "UpdateItem", "BatchWriteItem", "Query", "Scan"}},
    "PartnerAuthorizerFunction": {L: {"BatchGetItem"}},
    "PartnerFunction": {L: POINTS | {"DeleteItem", "Query"}, GSI1: {"Query"}, M: {"BatchGetItem"}},
    "StreamProcessorFunction": {M: {"BatchGetItem", "PutItem", "UpdateItem"}},
    "EventsPublisherFunction": {},
    "StaffMfaFunction": {},
    "WebhookDeliveryFunction": {L: {"BatchGetItem", "PutItem", "Query"}},
    # Bulk import: the split records a file's counts; the workers enroll, stage and record purchases;
    # what-if steps scan the ledger.
    "ImportSplitFunction": {L: {"BatchGetItem", "UpdateItem", "PutItem"}},
    "WorkFunction": {L: POINTS | {"Query", "BatchWriteItem", "Scan"}},
    # Pages of the jobs that fan out (member maintenance, reconcile and its merge); a page's older result.
    # A checkpoint's page: the day's entries (GSI1) hashed into chunks.
    "JobWorkerFunction": {L: POINTS | {"Query", "Scan", "DeleteItem", "BatchWriteItem"},
                          GSI2: POINTS | {"Query", "Scan"}, GSI1: {"Query"}, M: {"BatchGetItem", "PutItem", "Scan"}},
}
# Functions that reach only some partition keys (the internet-facing authorizer; the function that
# calls partner-controlled URLs must not be able to write balances).
LEADING_KEYS = {"PartnerAuthorizerFunction": ("PARTNERKEY#*", "PARTNER#*"),
                "WebhookDeliveryFunction": ("WEBHOOK#*", "WEBHOOKLOG#*", "DELIVERED#*"),
                "ImportSplitFunction": ("IMPORT#*",)}
# Single actions granted on some partition keys only, by function and action.
LEADING_KEYS_OF_ACTION = {("JobWorkerFunction", "dynamodb:DeleteItem", "table/LoyaltyTable"): ("JOBRUN#*",),
                          ("AdminFunction", "dynamodb:Query", "table/LoyaltyTable"): (
    "CODEBATCH#*", "AUDIT", "PROGRAM", "PHONE#*", "IMPORT#*", "CAMPAIGNS", "CHALLENGES"),
    ("CatalogFunction", "dynamodb:Query", "table/LoyaltyTable"): ("CATALOG#*", "BADGES"),
    ("ReportsFunction", "dynamodb:Query", "table/LoyaltyTable"): ("CHECKPOINT#*", "CHECKPOINTS", "FINANCE"),
    ("ReportsFunction", "dynamodb:PutItem", "table/LoyaltyTable"): ("FINANCE",)}


def test_each_function_role_allows_only_the_dynamodb_actions_its_code_uses() -> None:
    from loyalty_local.iam import function_grants, transformed_template

    # Given the roles CloudFormation receives after the SAM transform (their DynamoDB statements)
    grants = {function: [grant for grant in found if any(action.startswith("dynamodb:") for action in grant.actions)]
              for function, found in function_grants(transformed_template()).items()}

    # Then each function's DynamoDB actions are exactly its allow-list, table by table and index by index
    assert set(grants) == set(ALLOWED)
    for function, grant_list in grants.items():
        granted: dict[str, set[str]] = {}
        for grant in grant_list:
            for resource in grant.resources:
                granted.setdefault(resource, set()).update(a.removeprefix("dynamodb:") for a in grant.actions)
            narrowed = {LEADING_KEYS_OF_ACTION.get((function, action, resource)) for action in grant.actions
                        for resource in grant.resources} - {None}
            expected = narrowed.pop() if narrowed else LEADING_KEYS.get(function)
            assert grant.leading_keys == expected, function
        assert granted == ALLOWED[function], function


def test_only_the_jobs_may_sign_with_the_ledger_key_and_readers_only_read_its_public_key() -> None:
    from loyalty_local.iam import function_grants, transformed_template

    # Given the roles CloudFormation receives (their KMS statements)
    grants = function_grants(transformed_template())
    kms = {function: {(action, resource) for grant in found for action in grant.actions if action.startswith("kms:")
                      for resource in grant.resources}
           for function, found in grants.items()}
    kms = {function: found for function, found in kms.items() if found}
    # Then only the scheduler and the job worker may sign, with the ledger's key only; the reports function
    # (GET /ledger/public-key) may only read the public key; no other function reaches KMS
    key = "kms:key/LedgerSigningKey"
    assert kms == {"SchedulerFunction": {("kms:Sign", key)}, "JobWorkerFunction": {("kms:Sign", key)},
                   "ReportsFunction": {("kms:GetPublicKey", key)}}, kms
    # And the key is an ECDSA P-256 signing key, kept when the stack goes
    key_resource = load_template()["Resources"]["LedgerSigningKey"]
    assert key_resource["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert key_resource["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert key_resource["DeletionPolicy"] == "Retain"
