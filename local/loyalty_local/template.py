"""Reads infra/template.yaml (CloudFormation tags included) into what the local stack serves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loyalty_local.filtering import parse_filters

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(tag: str) -> Any:
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in ("Ref", "GetAtt", "Sub", "If", "Not", "Equals", "Join", "Select", "Split", "FindInMap",
             "ImportValue", "GetAZs", "Base64", "Cidr", "And", "Or", "Condition"):
    _CfnLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    path: str  # as in the template: /members/{member_id}
    api: str  # logical id of the API
    kind: str  # "HttpApi" (payload v2) or "Api" (REST, payload v1)
    authorizer: str | None

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class StreamSource:
    function: str
    table: str
    batch_size: int
    max_retries: int
    bisect: bool
    report_item_failures: bool
    tumbling_window: int = 0
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria's patterns (loyalty_local.filtering)


@dataclass(frozen=True)
class Schedule:
    function: str
    name: str
    expression: str
    payload: Any


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    timeout: int
    memory_mb: int = 128

    @property
    def module_path(self) -> Path:
        return self.code_uri / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def entry_point(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass
class Table:
    logical_id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class QueueSource:
    function: str
    queue: str
    batch_size: int
    report_item_failures: bool
    # The event source's ScalingConfig MaximumConcurrency (None: Lambda's own scaling).
    max_concurrency: int | None = None


@dataclass
class Stack:
    template: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    buses: list[str] = field(default_factory=list)
    # KMS keys: logical id -> properties (made in moto's KMS, named by an alias of their logical id).
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Rules whose targets are API destinations (the connectors): applied by loyalty_local.connectors.
    connector_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue_sources: list[QueueSource] = field(default_factory=list)
    default_authorizers: dict[str, str | None] = field(default_factory=dict)
    # REST API Lambda authorizers: (api, name) -> (function, identity headers)
    rest_authorizers: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def _getatt_resource(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def read_stack(path: Path = TEMPLATE_PATH) -> Stack:
    template = load_template(path)
    resources: dict[str, Any] = template.get("Resources", {})
    globals_ = template.get("Globals", {}).get("Function", {})
    stack = Stack(template=template)
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {}) or {}
        if kind == "AWS::DynamoDB::Table":
            stack.tables[logical_id] = Table(logical_id, properties)
        elif kind == "AWS::SQS::Queue":
            stack.queues[logical_id] = properties
        elif kind == "AWS::S3::Bucket":
            stack.buckets[logical_id] = properties
        elif kind == "AWS::Events::EventBus":
            stack.buses.append(logical_id)
        elif kind == "AWS::KMS::Key":
            stack.keys[logical_id] = properties
        elif kind == "AWS::Events::Rule":
            targets = [_getatt_resource(target.get("Arn")) for target in properties.get("Targets") or []]
            if any(target and resources.get(target, {}).get("Type") == "AWS::Events::ApiDestination"
                   for target in targets):
                stack.connector_rules[logical_id] = properties
            else:
                stack.rules[logical_id] = properties
        elif kind in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api"):
            auth = properties.get("Auth") or {}
            stack.default_authorizers[logical_id] = auth.get("DefaultAuthorizer")
            if kind == "AWS::Serverless::Api":
                for name, authorizer in (auth.get("Authorizers") or {}).items():
                    function = _getatt_resource(authorizer.get("FunctionArn"))
                    headers = [h.lower() for h in (authorizer.get("Identity") or {}).get("Headers") or []]
                    if function:
                        stack.rest_authorizers[(logical_id, name)] = (function, headers)
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        environment = dict((globals_.get("Environment") or {}).get("Variables") or {})
        environment.update((properties.get("Environment") or {}).get("Variables") or {})
        code_uri = (path.parent / properties["CodeUri"]).resolve()
        stack.functions[logical_id] = Function(
            logical_id=logical_id, code_uri=code_uri, handler=properties.get("Handler", globals_.get("Handler")),
            environment=environment, timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            memory_mb=_integer(properties.get("MemorySize", globals_.get("MemorySize", 128)), 128),
        )
        for event_name, event in (properties.get("Events") or {}).items():
            event_kind = event.get("Type")
            event_properties = event.get("Properties") or {}
            if event_kind in ("HttpApi", "Api"):
                api = _ref(event_properties.get("ApiId") or event_properties.get("RestApiId")) or "ServerlessHttpApi"
                auth = (event_properties.get("Auth") or {}).get("Authorizer")
                authorizer = None if auth == "NONE" else (auth or stack.default_authorizers.get(api))
                stack.routes.append(Route(
                    function=logical_id, method=str(event_properties.get("Method", "ANY")).upper(),
                    path=event_properties["Path"], api=api, kind=event_kind, authorizer=authorizer,
                ))
            elif event_kind == "DynamoDB":
                table = _getatt_resource(event_properties.get("Stream"))
                if table:
                    stack.streams.append(StreamSource(
                        function=logical_id, table=table,
                        batch_size=int(event_properties.get("BatchSize", 100)),
                        max_retries=int(event_properties.get("MaximumRetryAttempts", 3)),
                        bisect=bool(event_properties.get("BisectBatchOnFunctionError", False)),
                        report_item_failures="ReportBatchItemFailures" in (
                            event_properties.get("FunctionResponseTypes") or []),
                        tumbling_window=int(event_properties.get("TumblingWindowInSeconds", 0)),
                        batching_window=float(event_properties.get("MaximumBatchingWindowInSeconds", 0)),
                        filters=tuple(parse_filters(event_properties.get("FilterCriteria"))),
                    ))
            elif event_kind == "SQS":
                queue = _getatt_resource(event_properties.get("Queue"))
                if queue:
                    scaling = (event_properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
                    if isinstance(scaling, dict) and "Ref" in scaling:
                        scaling = (template.get("Parameters") or {}).get(scaling["Ref"], {}).get("Default")
                    stack.queue_sources.append(QueueSource(
                        function=logical_id, queue=queue, batch_size=int(event_properties.get("BatchSize", 10)),
                        report_item_failures="ReportBatchItemFailures" in (
                            event_properties.get("FunctionResponseTypes") or []),
                        max_concurrency=int(str(scaling)) if scaling is not None else None,
                    ))
            elif event_kind in ("Schedule", "ScheduleV2"):
                stack.schedules.append(Schedule(
                    function=logical_id, name=event_name, expression=event_properties.get("Schedule")
                    or event_properties.get("ScheduleExpression", ""), payload=event_properties.get("Input"),
                ))
    # Most specific first: literal segments before parameters.
    stack.routes.sort(key=lambda route: (route.path.count("{"), -len(route.path)))
    return stack


def local_value(value: Any, refs: dict[str, str]) -> Any:
    """Environment values for local functions: a Ref to a resource the local stack made is what Ref
    gives on AWS (a table's or bus's name, a queue's URL)."""
    reference = _ref(value)
    if reference is not None:
        return refs.get(reference, f"local-{reference}")
    if isinstance(value, dict):
        return "local"
    return value


def _integer(value: Any, default: int) -> int:
    """A number from the template; a Ref or other intrinsic takes the default."""
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else default
