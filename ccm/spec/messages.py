"""Messages of spec errors: pydantic's errors rewritten as sentences that give the fix for the value."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from ccm.spec.models import PipelineSpec
from ccm.spec.yamlload import Located

# What a valid value looks like, for the fields whose format a regular expression checks.
_FORMAT_RULES = {
    "name": (
        "spec name",
        "Spec names are 1 to 64 lowercase letters, digits, '.', '_' or '-', and start and end "
        "with a letter or digit, such as topengineer.us.",
    ),
    "repository": ("repository", "Write it as owner/name, such as acme/api-service."),
    "workflow_file": (
        "workflow file",
        "Write the path of the workflow in its repository, such as .github/workflows/deploy.yml.",
    ),
    "environment": (
        "GitHub environment name",
        "Use 1 to 255 letters, digits, '.', '_' or '-', such as production.",
    ),
}


def describe_error(item: ErrorDetails, located: Located | None) -> str:
    """Rewrite one pydantic error as sentences that state the expected value and how to write it."""
    kind = item["type"]
    loc = item["loc"]

    # Type errors: when YAML resolved an unquoted value to another type, name that type.
    if kind == "string_type":
        resolved = located.resolved_kind() if located else None
        if located is not None and resolved is not None:
            if located.text == "":
                return "The value is empty. Write a text value."
            return (
                f"Input should be a valid string. YAML reads {located.text} as {resolved}, "
                f'so write "{located.text}" in quotes to keep it as text.'
            )
        return "Input should be a valid string. Write the value as text."
    if kind == "bool_type":
        if located is not None and located.text is not None and not located.plain:
            return "Input should be a valid boolean. Write true or false without quotes."
        return "Input should be a valid boolean. Write true or false."

    # Format errors: describe the format instead of printing the regular expression.
    if kind == "string_pattern_mismatch" and loc:
        described = describe_format(str(loc[-1]), item["input"])
        if described is not None:
            return described

    if kind == "list_type":
        return "Input should be a list. Write one '- item' line per entry, or [a, b]."
    if kind == "model_type":
        return "Input should be a mapping of fields, one 'key: value' line per field."
    if kind == "missing":
        return f"The required field {loc[-1]} is missing. Add it to this spec."
    if kind == "extra_forbidden":
        return _unknown_field_message(loc)
    if kind == "value_error":
        return _sentence(str(item["msg"]).removeprefix("Value error, "))
    return _sentence(item["msg"])


def describe_format(field: str, value: object) -> str | None:
    """Say that ``value`` is not a valid value of the spec field ``field``, and how to write one.

    Return None for a field whose format no regular expression checks.
    """
    if field not in _FORMAT_RULES:
        return None
    description, rule = _FORMAT_RULES[field]
    return f"{value!r} is not a valid {description}. {rule}"


def _unknown_field_message(loc: tuple[int | str, ...]) -> str:
    known = _field_names(loc[:-1])
    message = f"Unknown field {loc[-1]!r}."
    suggestion = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if suggestion:
        message += f" Did you mean {suggestion[0]}?"
    if known:
        message += f" The fields here are {', '.join(known)}."
    return message


def _field_names(loc: tuple[int | str, ...]) -> list[str]:
    """Return the field names of the model at ``loc`` inside a spec, or [] if none is there."""
    model: type[BaseModel] = PipelineSpec
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation: Any = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."
