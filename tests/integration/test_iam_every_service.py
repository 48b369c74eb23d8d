"""IAM covers every call (issue 29): every AWS client the functions make is checked against the function's
role as the SAM transform writes it, whatever the service, and the template grants what the code calls."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest

from loyalty_local import iam
from loyalty_local.iam import Enforcer
from loyalty_local.motoserver import MotoServer
from loyalty_local.template import PROJECT_ROOT
from tests.events import Api

CLIENT = re.compile(r"""(?:boto3\.client|session\.create_client|\.client)\(\s*["']([a-z0-9-]+)["']""")


def services_the_code_calls() -> set[str]:
    found: set[str] = set()
    for folder in ("layers/loyalty/loyalty", "functions"):
        for path in Path(PROJECT_ROOT, folder).rglob("*.py"):
            found.update(CLIENT.findall(path.read_text()))
    return found | {"dynamodb"}  # pynamodb's client


def test_every_service_the_code_makes_a_client_for_is_one_the_check_maps_to_iam() -> None:
    # Given every AWS service the layer and the functions make a client for
    services = services_the_code_calls()
    assert {"apigateway", "s3", "sqs", "events", "cognito-idp", "dynamodb"} <= services
    # Then the local IAM check knows how each one's calls map to actions and resources (an unmapped one would
    # raise rather than pass unchecked)
    assert services <= iam.MAPPED_SERVICES, services - iam.MAPPED_SERVICES
    with pytest.raises(NotImplementedError):
        iam.needs("lambda", "Invoke", {"FunctionName": "x"})


def test_onboarding_a_partner_with_its_usage_plan_runs_under_the_admin_role(
        api: Api, program: dict, tables: MotoServer, iam: Enforcer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the partner API exists (usage plans and keys are made for each partner)
    apigateway = boto3.client("apigateway", endpoint_url=tables.url, region_name="us-east-1")
    monkeypatch.setenv("PARTNER_API_ID", apigateway.create_rest_api(name="PartnerApi")["id"])
    # When an admin onboards a partner (every API Gateway call checked against AdminFunction's role)
    onboarded = api.post("/admin/partners", {"name": "Brew Co", "contact_email": "ops@brew.example"}, admin=True)
    # Then it succeeds: the role allows finding and creating the plan, the key and their link
    assert onboarded.status == 201, onboarded.body
    assert onboarded.body["usage_plan_id"]
    # And those calls were checked as IAM would check them (reads included, not only creates)
    used = {(action, resource) for function, action, resource in iam.used if function == "AdminFunction"}
    assert {("apigateway:GET", "apigateway:/usageplans"), ("apigateway:POST", "apigateway:/usageplans"),
            ("apigateway:GET", "apigateway:/apikeys"), ("apigateway:POST", "apigateway:/apikeys")} <= used
    assert any(action == "apigateway:GET" and resource.endswith("/keys") for action, resource in used)


def test_a_call_the_role_does_not_allow_is_refused_whatever_the_service(iam: Enforcer) -> None:
    # Given the roles as the template writes them: the events publisher may put events, not read S3
    grants = iam.grants
    enforcer = Enforcer({"EventsPublisherFunction": grants["EventsPublisherFunction"],
                         "AdminFunction": grants["AdminFunction"]})
    from botocore.exceptions import ClientError

    with iam_as("EventsPublisherFunction"):
        enforcer.check("PutEvents", {"Entries": [{"EventBusName": "EventBus"}]}, "events")
        with pytest.raises(ClientError, match="s3:GetObject"):
            enforcer.check("GetObject", {"Bucket": "local-importbucket", "Key": "imports/a.jsonl"}, "s3")
    # And the admin function may put an import file, but not outside imports/
    with iam_as("AdminFunction"):
        enforcer.check("PutObject", {"Bucket": "local-importbucket", "Key": "imports/a.jsonl"}, "s3")
        with pytest.raises(ClientError):
            enforcer.check("PutObject", {"Bucket": "local-importbucket", "Key": "other/a.jsonl"}, "s3")


def iam_as(function: str):  # type: ignore[no-untyped-def]
    return iam.as_function(function)
