"""Each function's permissions, as the SAM-transformed template grants them, enforced on the local stack and
in the tests the way IAM would on AWS.

moto does not check IAM, so a function whose role lacks an action it uses works locally and fails on
AWS. Here every request any AWS client sends while a function runs (see `as_function`) is checked against
the statements of that function's role after the SAM transform (policy templates expanded by samtranslator
itself): DynamoDB, S3, SQS, EventBridge, API Gateway, Cognito, KMS, whatever client the code makes. The
check sits on botocore's event hooks (`before-parameter-build` on every client any session creates:
boto3's and pynamodb's alike). A request the role does not allow is refused with AccessDenied, as on AWS;
a request to a service this module cannot map to IAM actions fails loudly, so a new kind of call cannot
slip past the check.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from loyalty_local.template import load_template

_running: ContextVar[str | None] = ContextVar("loyalty_local_function", default=None)

# What each DynamoDB operation needs, per item or table it touches.
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class Grant:
    actions: frozenset[str]  # "dynamodb:Query", "dynamodb:*", "s3:GetObject"
    # "table/LoyaltyTable", "table/LoyaltyTable/index/*" (DynamoDB), "<service>:<ARN resource>" for the others
    # ("sqs:WorkQueue", "s3:importbucket/imports/*", "apigateway:/usageplans/*/keys"), "*"
    resources: tuple[str, ...]
    # ForAllValues:StringLike dynamodb:LeadingKeys: every partition key touched must match one of these.
    leading_keys: tuple[str, ...] | None = None
    # StringLike s3:prefix: the listing's prefix must match one of these.
    prefixes: tuple[str, ...] | None = None

    def allows(self, action: str, resource: str, keys: list[str], prefix: str | None = None) -> bool:
        if not (any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions)
                and any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources)):
            return False
        if self.prefixes is not None and (prefix is None or not any(
                fnmatch.fnmatchcase(prefix, pattern) for pattern in self.prefixes)):
            return False
        return self.leading_keys is None or all(
            any(fnmatch.fnmatchcase(key, pattern) for pattern in self.leading_keys) for key in keys)


def transformed_template(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template after the SAM transform (as CloudFormation receives it after `sam deploy`).

    The transform takes seconds and every stack start and test session needs it, so its result is kept in
    the user's cache directory, named by a hash of what it depends on (the template, the parameters and
    the translator's version): a changed template is transformed again."""
    import samtranslator

    source = copy.deepcopy(template if template is not None else load_template())
    for resource in source["Resources"].values():
        for name in ("CodeUri", "ContentUri"):
            if name in resource.get("Properties", {}):
                resource["Properties"][name] = "s3://artifacts/loyalty.zip"
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "loyalty",
                  "AWS::Partition": "aws"}
    digest = hashlib.sha256(json.dumps([source, parameters, samtranslator.__version__], sort_keys=True,
                                       default=str).encode()).hexdigest()
    cached = _transform_cache() / f"sam-transform-{digest}.json"
    try:
        return dict(json.loads(cached.read_text()))
    except (OSError, ValueError):
        pass
    transformed = _transform(source, parameters)
    with contextlib.suppress(OSError):  # a read-only home: no cache, the same answer
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(transformed))
        partial.replace(cached)  # whole or not at all, with several processes at once
    return transformed


def _transform_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "loyalty-local"


def _transform(source: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator's session wants one

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    # Through JSON: the translator's own dict types become plain ones, as a cached answer's are.
    return dict(json.loads(json.dumps(transform(source, parameters, NoManagedPolicies()))))


# The ARN of a template resource by its type (locally a resource's name is its logical id; a bucket's is
# `local-<logical id lower-cased>`, see queues.create, and S3 names are compared lower-cased).
_ARN_OF_TYPE = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{lower}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{name}",
    "AWS::Cognito::UserPool": "arn:aws:cognito-idp:{region}:{account}:userpool/{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
}


def _arn_of(types: dict[str, str], name: str, attribute: str) -> str:
    if attribute == "StreamArn":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/*"
    if attribute != "Arn":  # QueueName, Name: what the name is locally
        return name
    template = _ARN_OF_TYPE.get(types.get(name, ""))
    if template is None:
        raise ValueError(f"no local ARN for {name} ({types.get(name)}): add its type to iam._ARN_OF_TYPE")
    return template.format(region=REGION, account=ACCOUNT, name=name, lower=name.lower())


def _text(value: Any, types: dict[str, str]) -> str:
    """A policy resource as the ARN text it stands for locally (intrinsics resolved)."""
    pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix":
              "amazonaws.com"}
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        return _arn_of(types, target, attribute)
    if "Ref" in value:
        return pseudo.get(value["Ref"], value["Ref"])
    if "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        resolved = {name: _text(variable, types) for name, variable in variables.items()}

        def substitute(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in resolved:
                return resolved[name]
            if name in pseudo:
                return pseudo[name]
            target, _, attribute = name.partition(".")
            return _arn_of(types, target, attribute or "Ref") if attribute else target

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    raise ValueError(f"a policy resource the local IAM check cannot read: {value}")


def canonical(arn: str) -> str:
    """An ARN as the check compares it: `table/...` for DynamoDB, `<service>:<resource>` for the others."""
    if arn == "*":
        return "*"
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn}")
    service, resource = parts[2], parts[5]
    if service == "dynamodb":
        return resource
    if service == "s3":
        bucket, slash, key = resource.partition("/")
        return f"s3:{bucket.lower()}{slash}{key}"
    return f"{service}:{resource}"


def _resource(value: Any, types: dict[str, str] | None = None) -> list[str]:
    """A statement's resource as patterns in the check's form (see `canonical`)."""
    if isinstance(value, list):
        return [pattern for item in value for pattern in _resource(item, types)]
    return [canonical(_text(value, types or {}))]


_CONDITIONS = {("ForAllValues:StringLike", "dynamodb:LeadingKeys"), ("StringLike", "s3:prefix")}


def function_grants(transformed: dict[str, Any]) -> dict[str, list[Grant]]:
    """Every Allow statement of each function's role, by the function's logical id."""
    resources = transformed["Resources"]
    types = {logical_id: str(resource["Type"]) for logical_id, resource in resources.items()}
    grants: dict[str, list[Grant]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resources.get(resource["Properties"]["Role"]["Fn::GetAtt"][0], {})
        found: list[Grant] = []
        for policy in role.get("Properties", {}).get("Policies", []):
            statements = policy["PolicyDocument"]["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                if statement.get("Effect") != "Allow":
                    continue
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                condition = statement.get("Condition") or {}
                unknown = {(operator, key) for operator, keys in condition.items() for key in keys} - _CONDITIONS
                if unknown:
                    raise ValueError(f"{logical_id}: conditions not checked locally: {sorted(unknown)}")
                leading = (condition.get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
                prefix = (condition.get("StringLike") or {}).get("s3:prefix")
                found.append(Grant(frozenset(str(action) for action in actions),
                                   tuple(_resource(statement.get("Resource"), types)),
                                   tuple(leading) if leading is not None else None,
                                   (tuple(prefix) if isinstance(prefix, list) else (prefix,)) if prefix else None))
        grants[logical_id] = found
    return grants


def _pk(item: dict[str, Any]) -> list[str]:
    value = (item or {}).get("pk", {})
    return [value["S"]] if isinstance(value, dict) and "S" in value else []


def _query_pk(params: dict[str, Any]) -> list[str]:
    """The partition key value a table Query names (index queries name an index key: not leading keys)."""
    if params.get("IndexName"):
        return []
    names = dict(params.get("ExpressionAttributeNames") or {})
    for alias, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(alias, alias) == "pk":
            value = (params.get("ExpressionAttributeValues") or {}).get(placeholder, {})
            return [value["S"]] if "S" in value else []
    return []


def required(operation: str, params: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(IAM action, resource, partition keys touched) a DynamoDB request needs."""
    def table(name: str, index: str | None = None) -> str:
        return f"table/{name}" + (f"/index/{index}" if index else "")

    if operation == "TransactWriteItems":
        needs = []
        for item in params.get("TransactItems", []):
            (kind, body), = item.items()
            needs.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table(body["TableName"]),
                          _pk(body.get("Item") or body.get("Key") or {})))
        return needs
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"]["TableName"]), _pk(item["Get"]["Key"]))
                for item in params.get("TransactItems", [])]
    if operation == "BatchGetItem":
        return [(f"dynamodb:{operation}", table(name), [key for item in spec.get("Keys", []) for key in _pk(item)])
                for name, spec in params.get("RequestItems", {}).items()]
    if operation == "BatchWriteItem":
        return [(f"dynamodb:{operation}", table(name),
                 [key for entry in entries for key in _pk(entry.get("PutRequest", {}).get("Item")
                                                            or entry.get("DeleteRequest", {}).get("Key"))])
                for name, entries in params.get("RequestItems", {}).items()]
    if "TableName" in params:
        keys = _query_pk(params) if operation == "Query" else _pk(params.get("Item") or params.get("Key") or {})
        return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")), keys)]
    return []


@dataclass(frozen=True)
class Need:
    """One permission a request needs: an action on a resource (in the check's form), and what the
    policy's conditions look at."""

    action: str
    resource: str
    keys: list[str] = field(default_factory=list)  # dynamodb:LeadingKeys
    prefix: str | None = None  # s3:prefix


def _queue(url: str) -> str:
    return f"sqs:{url.rstrip('/').rsplit('/', 1)[-1]}"


def _bucket(name: str) -> str:
    return f"s3:{name.removeprefix('local-').lower()}"


# S3 operations and the actions they need (GetObject of a version needs GetObjectVersion as well).
_S3_ACTIONS = {"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
               "DeleteObject": "s3:DeleteObject", "CopyObject": "s3:PutObject"}
_S3_BUCKET_ACTIONS = {"ListObjectVersions": "s3:ListBucketVersions", "ListObjectsV2": "s3:ListBucket",
                      "ListObjects": "s3:ListBucket"}


# The services `needs` maps to IAM (a test checks that every service the code calls is one of them).
MAPPED_SERVICES = frozenset({"dynamodb", "s3", "sqs", "events", "apigateway", "cognito-idp", "kms", "scheduler"})


def needs(service: str, operation: str, params: dict[str, Any], model: Any = None) -> list[Need]:
    """What a request to any service needs, in IAM's terms. A service not mapped here raises: a call the
    check cannot judge must not pass unchecked."""
    if service == "dynamodb":
        return [Need(action, resource, keys) for action, resource, keys in required(operation, params)]
    if service == "s3":
        bucket = _bucket(str(params.get("Bucket", "")))
        if operation in _S3_BUCKET_ACTIONS:
            return [Need(_S3_BUCKET_ACTIONS[operation], bucket, prefix=str(params.get("Prefix", "")))]
        if operation in _S3_ACTIONS:
            resource = f"{bucket}/{params.get('Key', '')}"
            found = [Need(_S3_ACTIONS[operation], resource)]
            if params.get("VersionId") and operation in ("GetObject", "HeadObject"):
                found.append(Need("s3:GetObjectVersion", resource))
            return found
    if service == "sqs" and "QueueUrl" in params:
        return [Need(f"sqs:{operation.removesuffix('Batch')}", _queue(str(params["QueueUrl"])))]
    if service == "events" and operation == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])}
        return [Need("events:PutEvents", f"events:event-bus/{bus.rsplit('/', 1)[-1]}") for bus in sorted(buses)]
    if service == "apigateway" and model is not None:
        # API Gateway's IAM actions are HTTP methods on its resource paths: GET /usageplans/{id}/keys.
        path = str(model.http["requestUri"]).split("?", 1)[0]
        path = re.sub(r"\{(\w+)\+?\}", lambda found: quote(str(params.get(found.group(1), "*")), safe=""), path)
        return [Need(f"apigateway:{model.http['method']}", f"apigateway:{path}")]
    if service == "cognito-idp" and "UserPoolId" in params:
        return [Need(f"cognito-idp:{operation}", f"cognito-idp:userpool/{params['UserPoolId']}")]
    if service == "kms" and "KeyId" in params:
        key = str(params["KeyId"]).rsplit("/", 1)[-1]
        return [Need(f"kms:{operation}", f"kms:key/{key}")]
    if service == "scheduler" and "Name" in params:
        group = params.get("GroupName") or "default"
        return [Need(f"scheduler:{operation}", f"scheduler:schedule/{group}/{params['Name']}")]
    raise NotImplementedError(f"the local IAM check cannot map {service}:{operation}: add it to iam.needs")


def _denied(function: str, service: str, operation: str, need: Need) -> ClientError:
    code = "AccessDeniedException" if service in ("dynamodb", "kms", "cognito-idp", "events") else "AccessDenied"
    return ClientError({"Error": {
        "Code": code,
        "Message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{function}Role/{function} is not authorized to "
                   f"perform: {need.action} on resource: {need.resource} because no identity-based policy "
                   f"allows the {need.action} action"}}, operation)


@dataclass
class Enforcer:
    grants: dict[str, list[Grant]]
    # What each function was seen to use: (function, action, resource).
    used: set[tuple[str, str, str]] = field(default_factory=set)

    def check(self, operation: str, params: dict[str, Any], service: str = "dynamodb", model: Any = None) -> None:
        function = _running.get()
        if function is None or function not in self.grants:
            return
        for need in needs(service, operation, params, model):
            self.used.add((function, need.action, need.resource))
            if not any(grant.allows(need.action, need.resource, need.keys, need.prefix)
                       for grant in self.grants[function]):
                raise _denied(function, service, operation, need)

    def install(self) -> None:
        """Check every request of every AWS client, on botocore's event hooks: each client any session
        creates (boto3's default session, pynamodb's per-connection sessions) from now on registers
        `before-parameter-build`, which sees the service, the operation and its parameters."""
        import botocore.session

        global _enforcing
        _enforcing = self
        current = botocore.session.Session.create_client
        if getattr(current, "_loyalty_iam", False):
            return  # installed already: the hook asks whichever enforcer was installed last
        original = current

        @functools.wraps(original)
        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register_first("before-parameter-build", _before_parameter_build,
                                              unique_id="loyalty-local-iam")
            return client

        create_client._loyalty_iam = True  # type: ignore[attr-defined]
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]


_enforcing: Enforcer | None = None


def _before_parameter_build(params: dict[str, Any], model: Any, **_: Any) -> None:
    if _enforcing is not None:
        _enforcing.check(model.name, params, model.service_model.service_name, model)


@contextlib.contextmanager
def as_function(logical_id: str) -> Iterator[None]:
    """DynamoDB requests sent inside are checked against `logical_id`'s role."""
    token = _running.set(logical_id)
    try:
        yield
    finally:
        _running.reset(token)


def enter_function(logical_id: str) -> None:
    """From here on, this process is `logical_id`'s instance: its requests are checked against its role."""
    _running.set(logical_id)


def enforcer(template: dict[str, Any] | None = None) -> Enforcer:
    return Enforcer(function_grants(transformed_template(template)))
