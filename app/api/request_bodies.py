"""The OpenAPI request body of an image route: a multipart form, or the same fields as JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def request_body(json_model: type[BaseModel], files: dict[str, str]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` accepting multipart files or the JSON model.

    Args:
        json_model: Schema of the JSON body; its other fields are the multipart text fields.
        files: Multipart file field -> description (a trailing ``[]`` marks a repeatable field).
    """
    properties: dict[str, Any] = {}
    for name, description in files.items():
        binary = {"type": "string", "format": "binary"}
        if name.endswith("[]"):
            name = name[:-2]
            properties[name] = {"type": "array", "items": binary, "description": description}
        else:
            properties[name] = {**binary, "description": description}
    properties.update(_text_fields(json_model, {name.removesuffix("[]") for name in files}))
    multipart = {
        "type": "object",
        "properties": properties,
        "required": list(name.removesuffix("[]") for name in files),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart},
                "application/json": {
                    "schema": json_model.model_json_schema(),
                    "example": json_model.model_config["json_schema_extra"]["examples"][0],
                },
            },
        }
    }


def _text_fields(json_model: type[BaseModel], files: set[str]) -> dict[str, Any]:
    """Return the JSON model's option fields as multipart text fields (their non-null schema)."""
    fields = {}
    for name, spec in json_model.model_json_schema()["properties"].items():
        if name in files:
            continue
        branches = [branch for branch in spec.get("anyOf", [spec]) if branch.get("type") != "null"]
        kept = {key: spec[key] for key in ("description", "default") if spec.get(key) is not None}
        fields[name] = {**branches[0], **kept}
    return fields
