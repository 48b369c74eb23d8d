"""Cognito pre-token-generation trigger: staff privileges only for staff who sign in with MFA.

Members and staff share the user pool (member ids are its subs), whose MFA is optional. A user with
an authenticator app (TOTP) enabled is always challenged for it at sign-in; so a token carries the
`loyalty-admin` group only for users who have TOTP enabled. Anyone else in the group gets a token
without it (a member's token), and the refusal is logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.logs import make_logger

logger = make_logger()
ADMIN_GROUP = "loyalty-admin"


def mfa_enabled(user_pool_id: str, username: str) -> bool:
    import boto3  # the runtime's; only for staff sign-ins

    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=user_pool_id, Username=username)
    return "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    groups = list(((event.get("request") or {}).get("groupConfiguration") or {}).get("groupsToOverride") or [])
    if ADMIN_GROUP in groups and not mfa_enabled(str(event["userPoolId"]), str(event["userName"])):
        logger.warning("staff sign-in without MFA: token issued without the admin group",
                       extra={"user": event.get("request", {}).get("userAttributes", {}).get("sub")})
        response = event.setdefault("response", {})
        response["claimsOverrideDetails"] = {
            **(response.get("claimsOverrideDetails") or {}),
            "groupOverrideDetails": {"groupsToOverride": [group for group in groups if group != ADMIN_GROUP]},
        }
    return event
