"""Checks a request against Stripe's OpenAPI spec, the way Stripe's API would refuse it.

Stripe takes form-encoded parameters with bracketed nesting
(`line_items[0][price_data][unit_amount]=1500`, `metadata[booking_id]=b_1`); the validator
rebuilds the nested structure and walks it against the operation's request schema:
- the path and method exist;
- every parameter, at every depth, is declared (a parameter Stripe does not know fails);
- integers, booleans, strings, arrays, objects and `anyOf` alternatives match;
- enum values and `maxLength` are respected; required parameters are present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.support.stripe_reference import STRIPE_OPENAPI_SPEC

FORM = "application/x-www-form-urlencoded"
_INTEGER = re.compile(r"-?\d+")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")

Tree = dict[str, Any]


class MalformedForm(ValueError):
    pass


def parse_form(encoded: str) -> Tree:
    """`a[b][0]=1&c=2` → {"a": {"b": {"0": "1"}}, "c": "2"} (leaves stay strings)."""
    tree: Tree = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True, strict_parsing=False):
        head, _, rest = key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        node = tree
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "" and not last:
                raise MalformedForm(f"{key}: empty brackets in the middle of a key")
            if part == "":
                part = str(len(node))
            if last:
                if isinstance(node.get(part), dict):
                    raise MalformedForm(f"{key}: both a value and a nested parameter")
                if part in node:
                    raise MalformedForm(f"{key}: given twice")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise MalformedForm(f"{key}: both a value and a nested parameter")
                node = child
    return tree


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: Mapping[str, Any]


class StripeOpenAPIValidator:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec
        self._paths = sorted(
            (
                (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(p)) + "$"), p)
                for p in spec["paths"]
            ),
            # Literal segments win over templated ones (/v1/accounts/x vs /v1/account_links).
            key=lambda item: item[1].count("{"),
        )

    @classmethod
    def from_file(cls, path: Path = STRIPE_OPENAPI_SPEC) -> StripeOpenAPIValidator:
        return cls(json.loads(path.read_text()))

    def operation(self, method: str, path: str) -> Operation:
        for pattern, template in self._paths:
            if pattern.match(path):
                item = self._spec["paths"][template]
                if method.lower() not in item:
                    raise LookupError(f"{method.upper()} {template} is not an operation")
                return Operation(method.lower(), template, item[method.lower()])
        raise LookupError(f"{path} is not a path of the Stripe API")

    def validate(self, method: str, path: str, encoded_params: str) -> list[str]:
        """Every way this request breaks the spec; empty when Stripe would accept it."""
        try:
            operation = self.operation(method, path)
            params = parse_form(encoded_params)
        except (LookupError, MalformedForm) as error:
            return [str(error)]
        if operation.method in ("get", "delete"):
            return self._validate_query(operation, params)
        content = operation.spec.get("requestBody", {}).get("content", {})
        if FORM not in content:
            return [f"{operation.method.upper()} {operation.template} takes no form body"]
        errors: list[str] = []
        self._check(params, content[FORM]["schema"], "", errors)
        return errors

    def object_errors(self, obj: Mapping[str, Any], schema_name: str) -> list[str]:
        """How a Stripe object (a response or an event's `data.object`) strays from the
        spec's schema: fields the schema does not have, required fields it lacks."""
        schema = self._resolve(self._spec["components"]["schemas"][schema_name])
        properties = schema.get("properties", {})
        unknown = [
            f"{schema_name}.{key}: not in the schema" for key in obj if key not in properties
        ]
        missing = [
            f"{schema_name}.{key}: required but missing"
            for key in schema.get("required", [])
            if key not in obj
        ]
        return unknown + missing

    def _validate_query(self, operation: Operation, params: Tree) -> list[str]:
        declared = {
            p["name"]: p for p in operation.spec.get("parameters", []) if p["in"] == "query"
        }
        errors: list[str] = []
        for name, value in params.items():
            if name not in declared:
                errors.append(f"{name}: unknown query parameter")
            else:
                self._check(value, declared[name]["schema"], name, errors)
        errors.extend(
            f"{name}: required query parameter missing"
            for name, parameter in declared.items()
            if parameter.get("required") and name not in params
        )
        return errors

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            node: Any = self._spec
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    @staticmethod
    def _child(where: str, key: str) -> str:
        return f"{where}[{key}]" if where else key

    def _check(self, value: Any, schema: Mapping[str, Any], where: str, errors: list[str]) -> None:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            self._check_any_of(value, schema["anyOf"], where, errors)
            return
        kind = schema.get("type")
        if kind == "object" or (kind is None and "properties" in schema):
            self._check_object(value, schema, where, errors)
        elif kind == "array":
            self._check_array(value, schema, where, errors)
        elif kind is not None:
            self._check_scalar(value, schema, where, errors)

    def _check_any_of(
        self, value: Any, options: Iterable[Mapping[str, Any]], where: str, errors: list[str]
    ) -> None:
        attempts: list[list[str]] = []
        for option in options:
            option_errors: list[str] = []
            self._check(value, option, where, option_errors)
            if not option_errors:
                return
            attempts.append(option_errors)
        closest = min(attempts, key=len)
        errors.append(f"{where or '<body>'}: matches no anyOf alternative ({'; '.join(closest)})")

    def _check_object(
        self, value: Any, schema: Mapping[str, Any], where: str, errors: list[str]
    ) -> None:
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object, got {value!r}")
            return
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties", False)
        for key, item in value.items():
            if key in properties:
                self._check(item, properties[key], self._child(where, key), errors)
            elif isinstance(additional, Mapping):
                self._check(item, additional, self._child(where, key), errors)
            elif additional is not True:
                errors.append(f"{self._child(where, key)}: unknown parameter")
        errors.extend(
            f"{self._child(where, name)}: required parameter missing"
            for name in schema.get("required", [])
            if name not in value
        )

    def _check_array(
        self, value: Any, schema: Mapping[str, Any], where: str, errors: list[str]
    ) -> None:
        if not isinstance(value, dict) or not all(key.isdigit() for key in value):
            errors.append(f"{where}: expected an array (indexed [0], [1], …), got {value!r}")
            return
        for key in sorted(value, key=int):
            self._check(value[key], schema.get("items", {}), f"{where}[{key}]", errors)

    def _check_scalar(
        self, value: Any, schema: Mapping[str, Any], where: str, errors: list[str]
    ) -> None:
        kind = schema["type"]
        if not isinstance(value, str):
            errors.append(f"{where}: expected a {kind}, got nested parameters {value!r}")
            return
        if kind == "integer" and not _INTEGER.fullmatch(value):
            errors.append(f"{where}: expected an integer, got {value!r}")
        elif kind == "number":
            try:
                float(value)
            except ValueError:
                errors.append(f"{where}: expected a number, got {value!r}")
        elif kind == "boolean" and value not in ("true", "false"):
            errors.append(f"{where}: expected a boolean, got {value!r}")
        if "enum" in schema and value not in [str(option) for option in schema["enum"]]:
            errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if kind == "string" and len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: longer than {schema['maxLength']} characters")


@cache
def stripe_openapi() -> StripeOpenAPIValidator:
    """The validator for the spec kept in tests/support/stripe/, loaded once per test run."""
    return StripeOpenAPIValidator.from_file()
