"""The pre-token trigger: staff privileges only in the tokens of users who sign in with MFA."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.lambda_context import LambdaContext

handler = importlib.import_module("functions.staff_mfa.handler")


def _event(groups: list[str]) -> dict[str, Any]:
    """A Cognito pre-token-generation event (version 1), as the user pool sends it."""
    return {
        "version": "1", "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
        "userPoolId": "us-east-1_Example", "userName": "staff-1",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "member-app"},
        "request": {"userAttributes": {"sub": "staff-1", "email": "ops@example.com"},
                    "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [],
                                           "preferredRole": None}},
        "response": {"claimsOverrideDetails": None},
    }


def test_staff_without_mfa_get_a_token_without_the_admin_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a member of loyalty-admin without an authenticator app
    monkeypatch.setattr(handler, "mfa_enabled", lambda pool, user: False)

    # When Cognito asks the trigger before issuing the tokens
    result = handler.lambda_handler(_event(["loyalty-admin", "beta"]), LambdaContext())

    # Then the tokens carry the other groups only
    assert result["response"]["claimsOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"] == ["beta"]


def test_staff_with_mfa_and_members_keep_their_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given staff with TOTP enabled, and a member in no group (never looked up)
    asked: list[str] = []
    monkeypatch.setattr(handler, "mfa_enabled", lambda pool, user: asked.append(user) or True)

    # When their tokens are issued, then nothing is overridden
    staff = handler.lambda_handler(_event(["loyalty-admin"]), LambdaContext())
    member = handler.lambda_handler(_event([]), LambdaContext())
    assert staff["response"]["claimsOverrideDetails"] is None
    assert member["response"]["claimsOverrideDetails"] is None
    assert asked == ["staff-1"]
