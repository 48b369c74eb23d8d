"""Lambda REQUEST authorizer of the partner API: the x-api-key header resolves to a partner.

API Gateway answers 401 itself when the header is missing (identity source); this function raises
"Unauthorized" for a malformed key (401) and returns a Deny policy (403) for an unknown or revoked
key. The result is cached by API Gateway for the key (ReauthorizeEvery in the template)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.domain.secrets import parse_api_key, secret_matches
from loyalty.logs import make_logger
from loyalty.store.partners import get_key, get_partner

logger = make_logger()


def _policy(effect: str, method_arn: str, principal: str, context: dict[str, Any] | None = None,
            usage_key: str | None = None) -> dict[str, Any]:
    # Allow every partner route of this API and stage, so the cached result serves them all.
    arn = method_arn.split("/")
    resource = "/".join(arn[:2]) + "/*" if len(arn) >= 2 else method_arn
    policy: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17",
                           "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
    }
    if context:
        policy["context"] = context
    if usage_key:
        policy["usageIdentifierKey"] = usage_key
    return policy


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    parsed = parse_api_key(headers.get("x-api-key"))
    if parsed is None:
        raise Exception("Unauthorized")  # API Gateway maps exactly this message to 401
    key_id, secret = parsed
    method_arn = str(event.get("methodArn", ""))
    # Read consistently: a key created a moment ago must not be denied, since API Gateway caches a Deny
    # for ReauthorizeEvery (60 s) as it caches an Allow. A revoked key, likewise, works until then.
    key = get_key(key_id)
    if key is None or key.status != "active" or not secret_matches(secret, key.secret_hash):
        logger.warning("partner key refused", extra={"key_id": key_id})
        return _policy("Deny", method_arn, "unknown")
    partner = get_partner(key.partner_id)
    if partner is None or partner.status != "active":
        return _policy("Deny", method_arn, key.partner_id)
    return _policy("Allow", method_arn, partner.partner_id,
                   {"partner_id": partner.partner_id, "key_id": key_id}, partner.usage_key)
