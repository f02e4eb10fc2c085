"""The official Xero specs for the contract tests: loaded once, and checks against them.

The specs live in `shared/specs/xero/` beside the clone (`WORKBENCH_SPECS` overrides the
folder); they are read, never copied into the project. A check returns the list of schema
violations, so a test asserts it is empty and a failure names every path that broke.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import yaml
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

Spec = dict[str, Any]
ACCOUNTING_PREFIX = "/api.xro/2.0"
CHECKED_FORMATS = ("uuid", "date-time")
OPENAPI_FORMATS = ("int32", "int64", "float", "double", "byte")


def specs_dir() -> Path | None:
    """The folder of the official specs, or None when it is not beside the clone."""
    override = os.environ.get("WORKBENCH_SPECS")
    folder = (
        Path(override)
        if override
        else Path(__file__).resolve().parents[1].parent / "shared" / "specs"
    )
    return folder if (folder / "xero" / "xero_accounting.yaml").is_file() else None


@functools.cache
def spec(name: str) -> Spec:
    """A spec parsed once per test session (`xero_accounting` or `xero-identity`)."""
    folder = specs_dir()
    if folder is None:
        raise FileNotFoundError("the official specs are not beside the clone")
    with (folder / "xero" / f"{name}.yaml").open("rb") as handle:
        loaded: Spec = yaml.load(handle, Loader=yaml.CSafeLoader)
    return loaded


def format_checker(skip: Iterable[str] = ()) -> FormatChecker:
    """uuid and date-time from JSON Schema, plus OpenAPI's numeric formats."""
    checker = FormatChecker(formats=[f for f in CHECKED_FORMATS if f not in set(skip)])
    for name in OPENAPI_FORMATS:
        checker.checkers[name] = oas30_format_checker.checkers[name]
    return checker


def resolve(document: Spec, node: Any) -> Any:
    """Follow a local `$ref` (`#/components/...`) to what it names."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def violations(
    document: Spec,
    schema: Mapping[str, Any],
    instance: Any,
    *,
    write: bool = False,
    skip_formats: Iterable[str] = (),
) -> list[str]:
    """Every way `instance` breaks `schema` (refs resolve in `document`), as readable lines.

    `write` checks a request body: read-only properties may not be sent.
    """
    root = {**schema, "components": document["components"]}
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    validator = cls(root, format_checker=format_checker(skip_formats))
    found = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:300]}")
    return found


@dataclass(frozen=True)
class Operation:
    """One operation of a spec, found from a concrete request."""

    document: Spec
    template: str
    method: str
    definition: Mapping[str, Any]
    path_item: Mapping[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.definition.get("operationId", f"{self.method} {self.template}"))

    def response_schema(self, status: int) -> Mapping[str, Any] | None:
        """The JSON schema of a declared status; None when the spec declares none."""
        response = resolve(self.document, self.definition.get("responses", {}).get(str(status)))
        if response is None:
            return None
        content = response.get("content", {}).get("application/json")
        return content["schema"] if content else {}

    def declares(self, status: int) -> bool:
        return str(status) in self.definition.get("responses", {})

    def request_schema(self) -> Mapping[str, Any] | None:
        body = resolve(self.document, self.definition.get("requestBody"))
        return body["content"]["application/json"]["schema"] if body else None

    def parameters(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        """(location, lower-case name) -> parameter, from the path item and the operation."""
        listed = [*self.path_item.get("parameters", []), *self.definition.get("parameters", [])]
        found = [resolve(self.document, p) for p in listed]
        return {(p["in"], p["name"].lower()): p for p in found}


def operation(request: httpx2.Request) -> Operation | None:
    """The spec operation a request to api.xero.com calls (identity or accounting)."""
    path = request.url.path
    if path.startswith(ACCOUNTING_PREFIX + "/"):
        document, path = spec("xero_accounting"), path[len(ACCOUNTING_PREFIX) :]
    else:
        document = spec("xero-identity")
    for template, item in document["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path, flags=re.IGNORECASE):
            method = request.method.lower()
            return (
                Operation(document, template, method, item[method], item)
                if method in item
                else None
            )
    return None


def request_violations(request: httpx2.Request, op: Operation) -> list[str]:
    """How a request breaks its operation: unknown or ill-typed parameters, a bad body."""
    declared = op.parameters()
    found: list[str] = []
    for name, value in request.url.params.multi_items():
        parameter = declared.get(("query", name.lower()))
        if parameter is None or parameter["name"] != name:
            found.append(f"query parameter {name!r} is not declared by {op.operation_id}")
            continue
        found += _parameter_violations(op.document, parameter, value)
    for (where, name), parameter in declared.items():
        if where != "header":
            continue
        if name not in request.headers:
            if parameter.get("required"):
                found.append(f"required header {parameter['name']} is missing")
            continue
        found += _parameter_violations(op.document, parameter, request.headers[name])
    schema = op.request_schema()
    if schema is not None:
        body = json.loads(request.content)
        found += violations(op.document, schema, body, write=True)
    return found


def _parameter_violations(document: Spec, parameter: Mapping[str, Any], raw: str) -> list[str]:
    schema = resolve(document, parameter["schema"])
    value = _coerce(raw, schema)
    problems = violations(document, schema, value)
    return [f"{parameter['in']} {parameter['name']}: {problem}" for problem in problems]


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """A form-style parameter value as the type its schema names."""
    kind = schema.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "integer":
        return int(raw) if raw.lstrip("-").isdigit() else raw
    if kind == "array":
        return [_coerce(part, schema.get("items", {})) for part in raw.split(",")]
    return raw
