"""Contract tests' helper: the official Swagger 2.0 specs beside the clone, as schema checks.

The specs live in `../shared/specs` (next to the clone), or wherever `WORKBENCH_SPECS` points.
A response is checked against the JSON Schema its operation declares for the status code,
resolving `#/definitions/...` against the whole spec; a request's query against the
operation's declared parameters (names, types, bounds, formats).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, FormatChecker

SPECS_ENV = "WORKBENCH_SPECS"
MISSING = "../shared/specs not found beside the clone: the contract tests need the official specs"
# RFC 3339 date-time, what Swagger 2.0's `format: date-time` means.
DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(DATE_TIME.match(value))


def specs_root() -> Path:
    """Where the official specs are: `$WORKBENCH_SPECS`, else `shared/specs` beside the clone."""
    configured = os.environ.get(SPECS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "specs"


def require_spec(vendor: str, name: str) -> Path:
    """The spec file, or skip the calling test module when the specs are not there."""
    path = specs_root() / vendor / name
    if not path.is_file():
        pytest.skip(MISSING, allow_module_level=True)
    return path


@cache
def load_spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


class Swagger:
    """One Swagger 2.0 spec: its operations' response schemas and query parameters."""

    def __init__(self, path: Path) -> None:
        self.spec = load_spec(path)

    def operation(self, path: str, method: str = "get") -> dict[str, Any]:
        operation: dict[str, Any] = self.spec["paths"][path][method.lower()]
        return operation

    def response_schema(
        self, path: str, status: int, method: str = "get", *, strict: bool = False
    ) -> dict[str, Any]:
        """The schema declared for `status`, made resolvable on its own.

        `strict` also refuses properties the spec does not declare: a fake may not invent
        fields (the real API may add some, which is why clients ignore unknown ones).
        """
        responses = self.operation(path, method)["responses"]
        declared = responses.get(str(status)) or responses.get("default")
        if declared is None:
            raise AssertionError(f"{method.upper()} {path} declares no {status} response")
        definitions = self.spec["definitions"]
        if strict:
            definitions = {name: _closed(schema) for name, schema in definitions.items()}
        return {**declared["schema"], "definitions": definitions}

    def response_errors(
        self, path: str, status: int, body: Any, method: str = "get", *, strict: bool = False
    ) -> list[str]:
        """Where `body` breaks the schema of the `status` response (empty when it conforms)."""
        schema = self.response_schema(path, status, method, strict=strict)
        validator = Draft4Validator(schema, format_checker=FORMATS)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]

    def definition(self, name: str) -> dict[str, Any]:
        definition: dict[str, Any] = self.spec["definitions"][name]
        return definition

    def query_errors(self, path: str, query: Mapping[str, str], method: str = "get") -> list[str]:
        """Where a request's query breaks the operation's declared query parameters."""
        declared = {
            p["name"]: p
            for p in self.operation(path, method).get("parameters", [])
            if p["in"] == "query"
        }
        problems = [f"{name} is not a declared parameter" for name in query if name not in declared]
        for name, value in query.items():
            if name in declared:
                problems += _parameter_errors(name, value, declared[name])
        return problems


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "object" and "properties" in schema:
        return {**schema, "additionalProperties": False}
    return schema


def _parameter_errors(name: str, value: str, parameter: Mapping[str, Any]) -> list[str]:
    if parameter.get("type") == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return [f"{name}={value!r} is not an integer"]
        number = int(value)
        low, high = parameter.get("minimum"), parameter.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            return [f"{name}={number} is outside {low}..{high}"]
    if parameter.get("format") == "date-time" and not DATE_TIME.match(value):
        return [f"{name}={value!r} is not an RFC 3339 date-time"]
    return []
