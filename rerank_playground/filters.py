"""Property filters of a search: ``category = Science``, ``year > 1990``, ``title like sci*``,
``tags contains any a, b``.

A :class:`PropertyFilter` is part of :class:`~rerank_playground.models.SearchRequest`, so links, story views,
batch plans, Copy as code and the CLI carry it through the request's one codec. Its value is kept as given (the
text typed, or a JSON value); :func:`check_filters` checks each filter against the collection's schema (the
property exists, the operator fits its type, the value reads as that type) and returns them with typed values,
which :func:`weaviate_filter` and :func:`filter_source` turn into the weaviate-client's ``Filter``. Every filter of
a search must hold (they are joined with AND).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rerank_playground.errors import InvalidInput
from rerank_playground.limits import MAX_FILTER_VALUES, MAX_FILTERS

if TYPE_CHECKING:
    from weaviate.collections.classes.filters import _Filters

    from rerank_playground.models import PropertyInfo

MAX_VALUE_CHARS = 1000


class FilterOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    LIKE = "like"
    GREATER = ">"
    LESS = "<"
    CONTAINS_ANY = "contains any"


OP_LABELS = {FilterOp.EQUAL: "equal", FilterOp.NOT_EQUAL: "not equal", FilterOp.LIKE: "like (* and ? wildcards)",
             FilterOp.GREATER: "greater than", FilterOp.LESS: "less than", FilterOp.CONTAINS_ANY: "contains any"}
_TEXT_OPS = (FilterOp.EQUAL, FilterOp.NOT_EQUAL, FilterOp.LIKE, FilterOp.CONTAINS_ANY)
_NUMBER_OPS = (FilterOp.EQUAL, FilterOp.NOT_EQUAL, FilterOp.GREATER, FilterOp.LESS, FilterOp.CONTAINS_ANY)
_ORDERED_OPS = (FilterOp.EQUAL, FilterOp.NOT_EQUAL, FilterOp.GREATER, FilterOp.LESS)
# The operators that fit each Weaviate data type (an array property matches when any element does).
OPERATORS_FOR: dict[str, tuple[FilterOp, ...]] = {
    "text": _TEXT_OPS, "int": _NUMBER_OPS, "number": _NUMBER_OPS, "date": _ORDERED_OPS,
    "boolean": (FilterOp.EQUAL, FilterOp.NOT_EQUAL),
}
_WHAT = {"text": "a text", "int": "a whole number", "number": "a number", "date": "a date (2024-05-01 or "
         "2024-05-01T12:00:00+00:00)", "boolean": "true or false"}

Scalar = str | int | float | bool | datetime
FilterValue = Scalar | tuple[Scalar, ...]


def base_type(data_type: str) -> str:
    """``int[]`` -> ``int``: the operators and values of an array property are those of its elements."""
    return data_type.removesuffix("[]")


def operators_for(data_type: str) -> tuple[FilterOp, ...]:
    """The operators that fit a property of ``data_type`` (none: it cannot be filtered here)."""
    return OPERATORS_FOR.get(base_type(data_type), ())


@dataclass(frozen=True)
class PropertyFilter:
    """``name`` (the property) ``op`` ``value``; ``value`` is a tuple for ``contains any``."""

    name: str
    op: FilterOp
    value: FilterValue

    def __str__(self) -> str:
        """The text form :func:`parse_filter` reads back: ``category = Science``."""
        return f"{self.name} {self.op.value} {self.value_text}"

    @property
    def value_text(self) -> str:
        """The value as typed in a filter row: ``Science``, ``1990``, ``a, b`` (contains any)."""
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        return ", ".join(_value_text(v) for v in values)

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        plain = [_json(v) for v in value] if isinstance(value, tuple) else _json(value)
        return {"property": self.name, "operator": self.op.value, "value": plain}

    @classmethod
    def from_dict(cls, data: Any) -> PropertyFilter:
        if not isinstance(data, Mapping):
            raise InvalidInput('each of "filters" must be an object with "property", "operator" and "value"')
        prop, op, value = data.get("property"), data.get("operator"), data.get("value")
        if not isinstance(prop, str) or not prop or len(prop) > MAX_VALUE_CHARS:
            raise InvalidInput('a filter\'s "property" must be a property name')
        return cls(prop, _op(op, prop), _value(value, op, prop))


def _json(value: Scalar) -> str | int | float | bool:
    return value.isoformat() if isinstance(value, datetime) else value


def _value_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _op(op: Any, prop: str) -> FilterOp:
    try:
        return FilterOp(op.strip().lower() if isinstance(op, str) else op)
    except ValueError:
        known = ", ".join(o.value for o in FilterOp)
        raise InvalidInput(f"Unknown filter operator {op!r:.40} on {prop!r}.", hint=f"Use one of: {known}.") from None


def _value(value: Any, op: Any, prop: str) -> FilterValue:
    many = isinstance(op, str) and op.strip().lower() == FilterOp.CONTAINS_ANY
    values = value if isinstance(value, list | tuple) else None
    if many and values is None and isinstance(value, str):
        values = [v.strip() for v in value.split(",") if v.strip()]
    if many:
        if not values or len(values) > MAX_FILTER_VALUES or not all(_is_scalar(v) for v in values):
            raise InvalidInput(f"The filter on {prop!r} needs 1 to {MAX_FILTER_VALUES} values, separated by commas.")
        return tuple(values)
    if not _is_scalar(value) or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"The filter on {prop!r} needs a value.")
    return value.strip() if isinstance(value, str) else value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_VALUE_CHARS
    return isinstance(value, bool | int | float | datetime)


_TEXT_FORM = re.compile(
    r"^\s*(?P<prop>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>contains\s+any\b|!=|=|>|<|like\b)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)


def parse_filter(text: str) -> PropertyFilter:
    """``category = Science`` (also ``!=``, ``>``, ``<``, ``like sci*``, ``contains any a, b``) -> a filter; the value
    may be quoted. Anything else is ``InvalidInput`` saying the form."""
    match = _TEXT_FORM.match(text or "")
    if match is None:
        raise InvalidInput(f"Cannot read the filter {text.strip()!r:.120}.",
                           hint="Write it as: property operator value, e.g. category = Science, year > 1990, "
                                "title like sci*, tags contains any a, b.")
    prop, op = match["prop"], " ".join(match["op"].lower().split())
    raw = match["value"]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]
    return PropertyFilter(prop, _op(op, prop), _value(raw, op, prop))


def filters_from_dicts(data: Any) -> tuple[PropertyFilter, ...]:
    """``SearchRequest.from_dict``'s reader of ``"filters"`` (absent: none)."""
    if data is None:
        return ()
    if not isinstance(data, list | tuple) or len(data) > MAX_FILTERS:
        raise InvalidInput(f'"filters" must be a list of at most {MAX_FILTERS} filters')
    return tuple(PropertyFilter.from_dict(item) for item in data)


def check_filters(filters: Sequence[PropertyFilter], properties: Sequence[PropertyInfo],
                  collection: str) -> tuple[PropertyFilter, ...]:
    """``filters`` checked against the collection's schema, with values of the property's type. A property it
    does not have, an operator that does not fit the type, or a value that does not read as it, is
    ``InvalidInput`` naming the property, the operator or the value."""
    if len(filters) > MAX_FILTERS:
        raise InvalidInput(f"A search takes at most {MAX_FILTERS} filters.")
    types = {p.name: p.data_type for p in properties}
    filterable = sorted(name for name, kind in types.items() if operators_for(kind))
    checked = []
    for f in filters:
        if f.name not in types:
            raise InvalidInput(f"Collection '{collection}' has no property {f.name!r} to filter on.",
                               hint=f"Filterable properties: {', '.join(filterable) or 'none'}.")
        kind = types[f.name]
        fits = operators_for(kind)
        if not fits:
            raise InvalidInput(f"The property {f.name!r} ({kind}) cannot be filtered here.",
                               hint=f"Filterable properties: {', '.join(filterable) or 'none'}.")
        if f.op not in fits:
            raise InvalidInput(f"The filter on {f.name!r} ({kind}) cannot use {f.op.value!r}.",
                               hint=f"Use one of: {', '.join(o.value for o in fits)}.")
        typed = tuple(_typed(v, kind, f.name) for v in f.value) if isinstance(f.value, tuple) else (
            _typed(f.value, kind, f.name))
        checked.append(PropertyFilter(f.name, f.op, typed))
    return tuple(checked)


def _typed(value: Scalar, data_type: str, prop: str) -> Scalar:
    kind = base_type(data_type)
    try:
        return _convert(value, kind)
    except (ValueError, TypeError):
        raise InvalidInput(f"The filter on {prop!r} ({data_type}) needs {_WHAT[kind]}, not {_value_text(value)!r:.80}."
                           ) from None


def _convert(value: Scalar, kind: str) -> Scalar:
    if kind == "text":
        return _value_text(value)
    if isinstance(value, datetime) and kind != "date":
        raise TypeError(kind)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise ValueError(value)
        return text == "true"
    if isinstance(value, bool):
        raise TypeError(kind)
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value) if isinstance(value, int | float) else int(str(value).strip())
    if kind == "number":
        number = float(value) if not isinstance(value, datetime) else float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(value)
        return number
    # date
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def weaviate_filter(filters: Sequence[PropertyFilter]) -> _Filters | None:
    """The weaviate-client filter of checked ``filters`` (all must hold); None without filters."""
    from weaviate.classes.query import Filter

    parts = []
    for f in filters:
        where = Filter.by_property(f.name)
        if f.op is FilterOp.CONTAINS_ANY:
            parts.append(where.contains_any(list(f.value) if isinstance(f.value, tuple) else [f.value]))  # type: ignore[arg-type]
        else:
            value: Any = f.value
            parts.append(_METHODS[f.op](where, value))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)


_METHODS: dict[FilterOp, Any] = {
    FilterOp.EQUAL: lambda where, value: where.equal(value),
    FilterOp.NOT_EQUAL: lambda where, value: where.not_equal(value),
    FilterOp.LIKE: lambda where, value: where.like(value),
    FilterOp.GREATER: lambda where, value: where.greater_than(value),
    FilterOp.LESS: lambda where, value: where.less_than(value),
}
_CALLS = {FilterOp.EQUAL: "equal", FilterOp.NOT_EQUAL: "not_equal", FilterOp.LIKE: "like",
          FilterOp.GREATER: "greater_than", FilterOp.LESS: "less_than", FilterOp.CONTAINS_ANY: "contains_any"}


def filter_source(filters: Sequence[PropertyFilter]) -> str | None:
    """The Python source of :func:`weaviate_filter`'s filter, for Copy as code (values through ``repr`` only:
    nothing typed can break out of it); None without filters."""
    parts = []
    for f in filters:
        value = list(f.value) if isinstance(f.value, tuple) else f.value
        parts.append(f"Filter.by_property({f.name!r}).{_CALLS[f.op]}({_source(value)})")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "Filter.all_of([" + ", ".join(parts) + "])"


def _source(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    if isinstance(value, datetime):
        return f"datetime.datetime.fromisoformat({value.isoformat()!r})"
    return repr(value)
