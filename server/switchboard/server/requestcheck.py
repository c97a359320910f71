"""The checks every request gets before its RPC runs, from its type's descriptor: the size bounds
its fields declare (`switchboard.options.v1.bounds`), enum fields holding defined values, and
Timestamp and Duration fields in their valid ranges, numbers in Structs finite (JSON has no NaN).
Only fields that are set are checked.

Each message type is compiled once into the list of its fields that need a check; a type with
none (nor nested types with any) is skipped at no cost."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import ListValue, Struct

from switchboard.options.v1 import bounds_pb2
from switchboard.server.errors import Violations

# Runs the checks of one message's fields: (message, path prefix, violations).
Check = Callable[[Any, str, Violations], None]
# One value's problem, or None: (value) -> description.
ValueCheck = Callable[[Any], str | None]

TIMESTAMP_MIN = -62_135_596_800  # 0001-01-01T00:00:00Z
TIMESTAMP_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z
DURATION_MAX = 315_576_000_000  # 10,000 years
NANOS_MAX = 999_999_999
_STRUCT_TYPES = ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue")
_SHOWN_KEY = 40

_BOUNDS: Any = bounds_pb2.bounds  # the extension (typed too narrowly in the stubs)
_compiled: dict[str, Check | None] = {}
_by_type: dict[type, Check | None] = {}


def area(type_name: str) -> str:
    """The error area of a message type: `switchboard.<area>.v1.X` -> `<area>`, else `rpc`."""
    parts = type_name.split(".")
    return parts[1] if parts[0] == "switchboard" and len(parts) > 2 else "rpc"


def check(request: Message) -> None:
    """Raises InvalidArgument naming every field of `request` that breaks a check."""
    kind = type(request)
    try:
        run = _by_type[kind]
    except KeyError:
        run = _by_type[kind] = compiled(request.DESCRIPTOR)
    if run is None:
        return
    v = Violations(area(request.DESCRIPTOR.full_name))
    run(request, "", v)
    v.raise_if_any()


def compiled(descriptor: Descriptor | Any) -> Check | None:
    """The checks of a message type, or None when it has nothing to check."""
    name = descriptor.full_name
    if name in _compiled:
        found = _compiled[name]
        if found is not _pending:
            return found
        return lambda m, p, v: _run(_compiled[name], m, p, v)  # a recursive type
    _compiled[name] = _pending
    checks = [c for f in descriptor.fields if (c := _field(f)) is not None]
    result = _sequence(checks) if checks else None
    _compiled[name] = result
    return result


def _pending(message: Any, prefix: str, v: Violations) -> None:
    """Placeholder while a type is compiled (for recursive types)."""


def _run(check_: Check | None, message: Any, prefix: str, v: Violations) -> None:
    if check_ is not None:
        check_(message, prefix, v)


def _sequence(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def run(message: Any, prefix: str, v: Violations) -> None:
        for c in checks:
            c(message, prefix, v)

    return run


def bounds_of(field: FieldDescriptor) -> bounds_pb2.Bounds | None:
    options = field.GetOptions()
    if options.HasExtension(_BOUNDS):
        return options.Extensions[_BOUNDS]  # type: ignore[no-any-return]
    return None


def _field(field: FieldDescriptor) -> Check | None:
    bounds = bounds_of(field) or bounds_pb2.Bounds()
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        return _map(field, bounds)
    value = _value_check(field, bounds)
    nested = _nested_check(field)
    if field.is_repeated:
        return _repeated(field.name, bounds.max_items, value, nested)
    if value is None and nested is None:
        return None
    return _singular(field, value, nested)


def _value_check(field: FieldDescriptor, bounds: bounds_pb2.Bounds) -> ValueCheck | None:
    """The check of one value of the field (one entry, if repeated), without nested fields."""
    if field.type == FieldDescriptor.TYPE_STRING and bounds.max_chars:
        return _max_chars(bounds.max_chars)
    if field.type == FieldDescriptor.TYPE_BYTES and bounds.max_bytes:
        return _max_len_bytes(bounds.max_bytes)
    enum_type, message_type = field.enum_type, field.message_type
    if enum_type is not None and not enum_type.is_closed:
        return _defined(enum_type.name, frozenset(enum_type.values_by_number))
    if message_type is not None:
        name = message_type.full_name
        special = {"google.protobuf.Timestamp": _timestamp,
                   "google.protobuf.Duration": _duration}.get(name)
        size = _max_size(bounds.max_bytes) if bounds.max_bytes else None
        if special and size:
            return lambda m: special(m) or size(m)
        return special or size
    return None


def _nested_check(field: FieldDescriptor) -> Check | None:
    message_type = field.message_type
    if message_type is None or message_type.full_name in (
            "google.protobuf.Timestamp", "google.protobuf.Duration"):
        return None
    if message_type.full_name in _STRUCT_TYPES:
        return _finite_numbers
    return compiled(message_type)


def _finite_numbers(message: Any, prefix: str, v: Violations) -> None:
    """JSON has no NaN or infinity: each such number in a Struct, Value or ListValue is named by
    where it is (`properties.sizes[1].n`)."""
    path = prefix.removesuffix(".")
    if isinstance(message, Struct):
        for key, value in message.fields.items():
            _finite_numbers(value, f"{prefix}{key}.", v)
    elif isinstance(message, ListValue):
        for i, value in enumerate(message.values):
            _finite_numbers(value, f"{path}[{i}].", v)
    else:
        kind = message.WhichOneof("kind")
        if kind == "number_value" and not math.isfinite(message.number_value):
            v.add(path, "must be a finite number")
        elif kind in ("struct_value", "list_value"):
            _finite_numbers(getattr(message, kind), prefix, v)


def _singular(field: FieldDescriptor, value: ValueCheck | None, nested: Check | None) -> Check:
    name = field.name
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        assert value is not None

        def scalar(message: Any, prefix: str, v: Violations) -> None:
            problem = value(getattr(message, name))
            if problem:
                v.add(prefix + name, problem)

        return scalar

    def sub(message: Any, prefix: str, v: Violations) -> None:
        if not message.HasField(name):
            return
        item = getattr(message, name)
        problem = value(item) if value else None
        if problem:
            v.add(prefix + name, problem)
        elif nested:
            nested(item, f"{prefix}{name}.", v)

    return sub


def _repeated(name: str, max_items: int, value: ValueCheck | None,
              nested: Check | None) -> Check | None:
    if not max_items and value is None and nested is None:
        return None

    def run(message: Any, prefix: str, v: Violations) -> None:
        items = getattr(message, name)
        if not items:
            return
        if max_items and len(items) > max_items:
            v.add(prefix + name, f"must have at most {max_items} entries (has {len(items)})")
            return
        for i, item in enumerate(items):
            problem = value(item) if value else None
            if problem:
                v.add(f"{prefix}{name}[{i}]", problem)
            elif nested:
                nested(item, f"{prefix}{name}[{i}].", v)

    return run


def _map(field: FieldDescriptor, bounds: bounds_pb2.Bounds) -> Check | None:
    name = field.name
    entry: Any = field.message_type
    key_field = entry.fields_by_name["key"]
    value_field = entry.fields_by_name["value"]
    max_items = bounds.max_items
    key_chars = bounds.max_key_chars if key_field.type == FieldDescriptor.TYPE_STRING else 0
    value = _value_check(value_field, bounds)
    nested = _nested_check(value_field)
    if not (max_items or key_chars or value or nested):
        return None

    def run(message: Any, prefix: str, v: Violations) -> None:
        entries = getattr(message, name)
        if not entries:
            return
        if max_items and len(entries) > max_items:
            v.add(prefix + name, f"must have at most {max_items} entries (has {len(entries)})")
            return
        for key, item in entries.items():
            path = f"{prefix}{name}[{_shown(key)}]" if key_chars or value or nested else ""
            if key_chars and len(key) > key_chars:
                v.add(path, f"key must be at most {key_chars} characters (has {len(key)})")
            problem = value(item) if value else None
            if problem:
                v.add(path, problem)
            elif nested:
                nested(item, path + ".", v)

    return run


def _shown(key: object) -> str:
    """A map key as it appears in a path: `"name"` (long keys cut short) or a number."""
    if isinstance(key, str):
        return json.dumps(key if len(key) <= _SHOWN_KEY else key[:_SHOWN_KEY] + "...")
    return str(key)


def _max_chars(limit: int) -> ValueCheck:
    def over(value: str) -> str | None:
        if len(value) > limit:
            return f"must be at most {limit} characters (has {len(value)})"
        return None

    return over


def _max_len_bytes(limit: int) -> ValueCheck:
    def over(value: bytes) -> str | None:
        if len(value) > limit:
            return f"must be at most {limit} bytes (has {len(value)})"
        return None

    return over


def _max_size(limit: int) -> ValueCheck:
    def over(value: Message) -> str | None:
        size = value.ByteSize()
        if size > limit:
            return f"must be at most {limit} bytes serialized (has {size})"
        return None

    return over


def _defined(enum_name: str, numbers: frozenset[int]) -> ValueCheck:
    def undefined(value: int) -> str | None:
        if value not in numbers:
            return f"{value} is not a {enum_name} value"
        return None

    return undefined


def _timestamp(value: Any) -> str | None:
    if not TIMESTAMP_MIN <= value.seconds <= TIMESTAMP_MAX:
        return "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    if not 0 <= value.nanos <= NANOS_MAX:
        return f"nanos must be 0 to {NANOS_MAX}"
    return None


def _duration(value: Any) -> str | None:
    seconds, nanos = value.seconds, value.nanos
    if not -DURATION_MAX <= seconds <= DURATION_MAX:
        return f"seconds must be at most {DURATION_MAX} either way (10,000 years)"
    if not -NANOS_MAX <= nanos <= NANOS_MAX:
        return f"nanos must be -{NANOS_MAX} to {NANOS_MAX}"
    if (seconds < 0 < nanos) or (nanos < 0 < seconds):
        return "seconds and nanos must have the same sign"
    return None
