"""Request bodies from caller input: checked, coerced to the API models, JSON-safe.

Every refusal is a :class:`~gcx.errors.ValidationError` naming the record and the field, raised
before anything is sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import pydantic
from pydantic_core import PydanticSerializationError, to_jsonable_python

from gcx.errors import ValidationError
from gcx.models import ApiModel

M = TypeVar("M", bound=ApiModel)


#: The ``expand`` values of GET, the search listings and the identifier lookups (SDK docs).
EXPAND_VALUES = ("externalOrganization", "externalDataSources", "identifiers", "externalSources", "division")


def expand_param(expand: Sequence[str] | None, *, record: str) -> list[str] | None:
    """The ``expand`` query values, checked (a typo would silently expand nothing)."""
    if expand is None:
        return None
    if isinstance(expand, str) or not all(isinstance(v, str) for v in expand):
        raise ValidationError(
            f"{record}: expand must be a list of field names such as ['identifiers']",
            field="expand",
            record=record,
        )
    unknown = [v for v in expand if v not in EXPAND_VALUES]
    if unknown:
        raise ValidationError(
            f"{record}: expand {unknown[0]!r} is not one of {', '.join(EXPAND_VALUES)}",
            field="expand",
            record=record,
        )
    return list(dict.fromkeys(expand)) or None


def seg(value: str, *, field: str = "id", record: str | None = None) -> str:
    """A path segment from an id, checked and escaped.

    ``.`` and ``..`` (also percent-encoded) are refused: URL normalisation (httpx's, a proxy's)
    would remove them and send the request to another endpoint.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{field} must be a non-empty string, got {value!r}", field=field, record=record
        )
    text = value.strip()
    if unquote(text) in {".", ".."}:
        raise ValidationError(f"{field} {text!r} is not a valid id", field=field, record=record)
    return quote(text, safe="")


def coerce(model: type[M], value: M | Mapping[str, Any], *, record: str) -> M:
    """Accept a model or a dict; a dict is validated, errors name the record and the field."""
    if isinstance(value, model):
        return value
    if isinstance(value, ApiModel):
        return model.model_validate(value.to_api())
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{record}: expected a {model.__name__} or a dict, got {type(value).__name__}", record=record
        )
    try:
        return model.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        raise ValidationError(
            f"{record}: field {field or '?'}: {first.get('msg', 'invalid value')}", field=field, record=record
        ) from None


def body_of(model: type[M], value: M | Mapping[str, Any], *, record: str) -> dict[str, Any]:
    return api_body(coerce(model, value, record=record), record=record)


def api_body(model: ApiModel, *, record: str) -> dict[str, Any]:
    """``model.to_api()``, refusing what JSON cannot carry instead of altering it.

    pydantic writes NaN and infinities as ``null`` (the server would then erase the field) and
    raises its own error for objects it cannot serialise: both become a :class:`ValidationError`
    naming the record and the field.
    """
    _check_finite(model.model_dump(by_alias=True, exclude_unset=True), record)
    try:
        return model.to_api()
    except PydanticSerializationError as exc:
        field = _unserialisable_path(model.model_dump(by_alias=True, exclude_unset=True))
        raise ValidationError(
            f"{record}: field {field or '?'}: this value cannot be sent as JSON ({exc})",
            field=field,
            record=record,
        ) from None


_JSON_SCALARS = (str, int, float, bool, type(None))


def jsonable(value: Any, *, field: str, record: str) -> Any:
    """``value`` as plain JSON data (dates become strings...), or a :class:`ValidationError`
    naming the record and the field when JSON cannot carry it (NaN, infinities, objects)."""
    try:
        plain = to_jsonable_python(value, by_alias=True)
    except PydanticSerializationError as exc:
        raise ValidationError(
            f"{record}: field {field}: this value cannot be sent as JSON ({exc})", field=field, record=record
        ) from None
    _check_finite(plain, record, field)
    return plain


def _walk(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf value of a dumped body with its dot path (list items by index)."""
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))
        else:
            yield where, value


def _check_finite(data: Any, record: str, path: str = "") -> None:
    """Refuse NaN and infinities: pydantic would write them as ``null`` (erasing the field)."""
    for where, value in _walk(data, path):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(
                f"{record}: field {where}: {value} is not a JSON number", field=where, record=record
            )


def _unserialisable_path(data: Any) -> str | None:
    """The first leaf pydantic cannot write as JSON (scalars and what it converts are fine)."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)
    for where, value in _walk(data):
        if isinstance(value, _JSON_SCALARS):
            continue
        try:
            adapter.dump_python(value, mode="json")
        except PydanticSerializationError:
            return where
    return None


def as_list(value: Any, what: str) -> list[Any]:
    """A list from any iterable of items; a single string or mapping is refused (it would be
    taken apart character by character or key by key)."""
    if isinstance(value, str | bytes | Mapping):
        raise ValidationError(
            f"{what} must be a list (got a single {type(value).__name__}); wrap it in [...]", field=what
        )
    try:
        return list(value)
    except TypeError:
        raise ValidationError(f"{what} must be a list, got {type(value).__name__}", field=what) from None


def patch_items(changes: Sequence[Any], *, record: str) -> list[dict[str, Any]]:
    """PATCH changes (``PatchChange`` models or dicts with field/value/action) as JSON, each
    checked: a field like ``$.address.city`` and an action; values JSON-ready."""
    items: list[dict[str, Any]] = []
    for n, change in enumerate(as_list(changes, "changes")):
        item = change.to_api() if isinstance(change, ApiModel) else dict(change)
        field = item.get("field")
        if not isinstance(field, str) or not field.startswith("$."):
            raise ValidationError(
                f"{record}: change #{n} needs a field like '$.address.city', got {field!r}",
                field=str(field),
                record=record,
            )
        if item.get("action") is None:
            raise ValidationError(
                f"{record}: change #{n} ({field}) has no action", field=field, record=record
            )
        if "value" in item:
            item["value"] = jsonable(item["value"], field=field[2:], record=record)
        items.append(item)
    return items
