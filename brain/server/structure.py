"""Structured output: what shape a request asks the answer to take, read from any of its spellings.

OpenAI's `response_format`, vLLM's `structured_outputs` (`json`, `regex`, `choice`, `grammar`,
`json_object`) and vLLM's legacy `guided_json` / `guided_regex` / `guided_choice` / `guided_grammar`.
A request gives at most one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from brain.server.errors import APIError

__all__ = ["Structure", "StructureKind", "read_structure"]


class StructureKind(StrEnum):
    JSON = "json"  # spec: a JSON schema
    JSON_OBJECT = "json_object"  # spec: None (any JSON object)
    REGEX = "regex"  # spec: a regular expression
    CHOICE = "choice"  # spec: a list of strings
    GRAMMAR = "grammar"  # spec: an EBNF grammar (xgrammar's dialect, as vLLM's)


@dataclass(frozen=True)
class Structure:
    kind: StructureKind
    spec: Any = None


_LEGACY = {"guided_json": StructureKind.JSON, "guided_regex": StructureKind.REGEX,
           "guided_choice": StructureKind.CHOICE, "guided_grammar": StructureKind.GRAMMAR}
_UNSUPPORTED = ("structural_tag", "guided_decoding_backend", "whitespace_pattern")


def read_structure(data: dict[str, Any]) -> Structure | None:
    """The one structure a request body asks for, or None; a 400 naming the field when it is malformed."""
    found: list[tuple[str, Structure]] = []
    for key, kind in _LEGACY.items():
        if data.get(key) is not None:
            found.append((key, _checked(kind, data[key], key)))
    if data.get("structured_outputs") is not None:
        found.extend(_structured_outputs(data["structured_outputs"]))
    if data.get("response_format") is not None:
        structure = _response_format(data["response_format"])
        if structure is not None:
            found.append(("response_format", structure))
    if len(found) > 1:
        raise APIError(f"give one structured output constraint, not {len(found)}: {', '.join(k for k, _ in found)}",
                       param=found[1][0])
    return found[0][1] if found else None


def _structured_outputs(value: Any) -> list[tuple[str, Structure]]:
    if not isinstance(value, dict):
        raise APIError("structured_outputs must be an object such as {\"json\": SCHEMA}", param="structured_outputs")
    for key in _UNSUPPORTED:
        if value.get(key) is not None:
            raise APIError(f"structured_outputs.{key} is not supported by this server; use json, regex, choice, "
                           "grammar or json_object", param=f"structured_outputs.{key}")
    unknown = sorted(set(value) - {k.value for k in StructureKind} - {"disable_any_whitespace",
                                                                      "disable_additional_properties"})
    if unknown:
        raise APIError(f"unknown structured_outputs field(s) {unknown}; use json, regex, choice, grammar or "
                       "json_object", param=f"structured_outputs.{unknown[0]}")
    found = []
    for kind in StructureKind:
        spec = value.get(kind.value)
        if kind is StructureKind.JSON_OBJECT:
            if spec:
                found.append(("structured_outputs.json_object", Structure(kind)))
        elif spec is not None:
            found.append((f"structured_outputs.{kind}", _checked(kind, spec, f"structured_outputs.{kind}")))
    return found


def _checked(kind: StructureKind, spec: Any, param: str) -> Structure:
    if kind is StructureKind.JSON and isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as e:
            raise APIError(f"{param} is a string but not a JSON schema: {e}", param=param) from e
    expected = {
        StructureKind.JSON: isinstance(spec, dict),
        StructureKind.REGEX: isinstance(spec, str) and bool(spec),
        StructureKind.GRAMMAR: isinstance(spec, str) and bool(spec),
        StructureKind.CHOICE: isinstance(spec, list) and bool(spec) and all(isinstance(c, str) for c in spec),
    }[kind]
    if not expected:
        shape = {StructureKind.JSON: "a JSON schema object", StructureKind.CHOICE: "a non-empty list of strings"}
        raise APIError(f"{param} must be {shape.get(kind, 'a non-empty string')}", param=param)
    return Structure(kind, spec)


def _response_format(value: Any) -> Structure | None:
    if not isinstance(value, dict):
        raise APIError("response_format must be an object", param="response_format")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return Structure(StructureKind.JSON_OBJECT)
    if kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise APIError("response_format.json_schema.schema must be a JSON schema object", param="response_format")
        return Structure(StructureKind.JSON, schema)
    raise APIError("response_format.type must be text, json_object or json_schema", param="response_format")
