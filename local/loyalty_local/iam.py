"""Each function's DynamoDB permissions, as the SAM-transformed template grants them, enforced on the
local stack and in the tests the way IAM would on AWS.

moto does not check IAM, so a function whose role lacks an action it uses works locally and fails on
AWS. Here every DynamoDB request a function sends (while it runs: see `as_function`) is checked against
the statements of that function's role after the SAM transform (policy templates expanded by
samtranslator itself); a request it is not allowed is refused with AccessDeniedException, as on AWS.
Only DynamoDB is checked; other services' calls pass.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import functools
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from loyalty_local.template import load_template

_running: ContextVar[str | None] = ContextVar("loyalty_local_function", default=None)

# What each DynamoDB operation needs, per item or table it touches.
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Grant:
    actions: frozenset[str]  # "dynamodb:Query", "dynamodb:*"
    resources: tuple[str, ...]  # "table/LoyaltyTable", "table/LoyaltyTable/index/*", "*"
    # ForAllValues:StringLike dynamodb:LeadingKeys: every partition key touched must match one of these.
    leading_keys: tuple[str, ...] | None = None

    def allows(self, action: str, resource: str, keys: list[str]) -> bool:
        if not (any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions)
                and any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources)):
            return False
        return self.leading_keys is None or all(
            any(fnmatch.fnmatchcase(key, pattern) for pattern in self.leading_keys) for key in keys)


def transformed_template(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template after the SAM transform (as CloudFormation receives it after `sam deploy`)."""
    import os

    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator's session wants one

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    source = copy.deepcopy(template if template is not None else load_template())
    for resource in source["Resources"].values():
        for name in ("CodeUri", "ContentUri"):
            if name in resource.get("Properties", {}):
                resource["Properties"][name] = "s3://artifacts/loyalty.zip"
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "loyalty",
                  "AWS::Partition": "aws"}
    return dict(transform(source, parameters, NoManagedPolicies()))


def _resource(value: Any) -> list[str]:
    """A statement's resource as `table/<logical id>[/index/<name>]` patterns (locally a table's name is
    its logical id)."""
    if isinstance(value, list):
        return [pattern for item in value for pattern in _resource(item)]
    if value == "*":
        return ["*"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        return [f"table/{target}"] if attribute == "Arn" else [f"table/{target}/stream/*"]
    if isinstance(value, dict) and "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        for name, variable in variables.items():
            resolved = variable.get("Ref") if isinstance(variable, dict) else variable
            text = text.replace("${" + name + "}", str(resolved))
        if "${" in text and ".Arn}" in text:  # "${LoyaltyTable.Arn}/index/*"
            head, tail = text.split(".Arn}", 1)
            text = f"table/{head.rsplit('${', 1)[1]}{tail}"
        return [text[text.index("table/"):]] if "table/" in text else []
    if isinstance(value, str) and ":table/" in value:
        return [value[value.index("table/"):]]
    return []


def function_grants(transformed: dict[str, Any]) -> dict[str, list[Grant]]:
    """The DynamoDB statements of each function's role, by the function's logical id."""
    resources = transformed["Resources"]
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
                dynamo = frozenset(str(action) for action in actions if str(action).startswith("dynamodb:"))
                if dynamo:
                    condition = statement.get("Condition") or {}
                    unknown = set(condition) - {"ForAllValues:StringLike"}
                    if unknown:
                        raise ValueError(f"{logical_id}: condition operators not checked locally: {unknown}")
                    leading = (condition.get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
                    found.append(Grant(dynamo, tuple(_resource(statement.get("Resource"))),
                                       tuple(leading) if leading is not None else None))
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


@dataclass
class Enforcer:
    grants: dict[str, list[Grant]]
    # What each function was seen to use: (function, action, resource).
    used: set[tuple[str, str, str]] = field(default_factory=set)

    def check(self, operation: str, params: dict[str, Any]) -> None:
        function = _running.get()
        if function is None or function not in self.grants:
            return
        for action, resource, keys in required(operation, params):
            self.used.add((function, action, resource))
            if not any(grant.allows(action, resource, keys) for grant in self.grants[function]):
                raise ClientError({"Error": {
                    "Code": "AccessDeniedException",
                    "Message": f"User: arn:aws:sts::123456789012:assumed-role/{function}Role/{function} is not "
                               f"authorized to perform: {action} on resource: arn:aws:dynamodb:us-east-1:"
                               f"123456789012:{resource} because no identity-based policy allows the "
                               f"{action} action"}}, operation)

    def install(self) -> None:
        """Check every DynamoDB request the functions send through pynamodb (every model's connection:
        pynamodb keeps a botocore session per connection and thread, so the check sits where they meet)."""
        from pynamodb.connection.base import Connection

        original = getattr(Connection._make_api_call, "__wrapped__", Connection._make_api_call)
        check = self.check

        @functools.wraps(original)
        def checked(connection: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
            check(operation_name, operation_kwargs)
            return original(connection, operation_name, operation_kwargs)

        Connection._make_api_call = checked  # type: ignore[method-assign,assignment]


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
