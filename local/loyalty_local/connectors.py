"""The template's connectors (Segment, Braze, Klaviyo) applied locally: each connector rule's input
transformer, as EventBridge applies it, to every event on the bus, posted to `<url>/<target id>` (e.g.
`http://127.0.0.1:9000/segment`) so you can see what each tool would get. The shapes are read from the
template, never written twice: what a test checks here is what the deployed rules send."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import requests

from loyalty_local.template import Stack

log = logging.getLogger(__name__)
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")
POST_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Connector:
    """One connector rule's target: its id (the tool), the pattern, the transformer and where AWS posts."""

    name: str
    rule: str
    pattern: dict[str, Any]
    paths: dict[str, str]
    template: str
    endpoint: Any  # the API destination's InvocationEndpoint as the template writes it


def connectors(stack: Stack) -> list[Connector]:
    """The rules whose targets are API destinations, with their input transformers."""
    resources = stack.template.get("Resources", {})
    found = []
    for rule, properties in stack.connector_rules.items():
        for target in properties["Targets"]:
            destination = resources[target["Arn"]["Fn::GetAtt"][0]]["Properties"]
            transformer = target["InputTransformer"]
            found.append(Connector(str(target["Id"]), rule, properties["EventPattern"],
                                   dict(transformer["InputPathsMap"]), str(transformer["InputTemplate"]),
                                   destination["InvocationEndpoint"]))
    return found


def _path(envelope: dict[str, Any], path: str) -> Any:
    """A JSON path of the simple form EventBridge transformers use ($.detail.member_id)."""
    value: Any = envelope
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def transform(connector: Connector, envelope: dict[str, Any]) -> Any:
    """The body EventBridge sends for `envelope` (the event as the bus holds it: source, detail-type,
    detail). A placeholder inside a JSON string takes the value's text; outside, its JSON (a string quoted,
    an object as is)."""
    values = {name: _path(envelope, path) for name, path in connector.paths.items()}
    out: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(connector.template):
        char = connector.template[position]
        match = PLACEHOLDER.match(connector.template, position) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value)
                out.append(json.dumps("" if value is None else text)[1:-1])
            else:
                out.append(json.dumps(value))
            position = match.end()
            continue
        if in_string and char == "\\" and not escaped:
            escaped = True
        else:
            if char == '"' and not escaped:
                in_string = not in_string
            escaped = False
        out.append(char)
        position += 1
    return json.loads("".join(out))


def matches(pattern: dict[str, Any], envelope: Any) -> bool:
    """The part of EventBridge's pattern language the connector rules use: lists of values, and
    `{"exists": true|false}` on keys, nested."""
    for key, wanted in pattern.items():
        present = isinstance(envelope, dict) and key in envelope
        value = envelope.get(key) if present else None
        if isinstance(wanted, dict):
            if not present or not matches(wanted, value):
                return False
            continue
        allowed = False
        for option in wanted:
            if isinstance(option, dict) and "exists" in option:
                allowed = allowed or (present == bool(option["exists"]))
            else:
                allowed = allowed or (present and value == option)
        if not allowed:
            return False
    return True


class ConnectorSender:
    """Posts each bus event, transformed by every connector whose rule matches it, to `<url>/<connector>`."""

    def __init__(self, stack: Stack, url: str) -> None:
        self.url = url.rstrip("/")
        self.connectors = connectors(stack)
        self.session = requests.Session()

    def __call__(self, envelope: dict[str, Any]) -> None:
        for connector in self.connectors:
            if not matches(connector.pattern, envelope):
                continue
            try:
                self.session.post(f"{self.url}/{connector.name}", json=transform(connector, envelope),
                                  timeout=POST_TIMEOUT_SECONDS)
            except requests.RequestException as exc:  # a receiver that is down loses the local copy only
                log.warning("connector %s: %s", connector.name, exc)
