"""google.protobuf.Struct fields of requests, checked and turned into plain dicts: JSON has no NaN
or infinity, so a number that is not finite is a violation naming where in the Struct it is."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct, Value

from switchboard.server.errors import Violations


def check_struct(s: Struct, path: str, v: Violations) -> bool:
    """Adds a violation (`path.key[index]...`) for each number in `s` that is not finite;
    whether there was none."""
    before = len(v.items)
    for key, value in s.fields.items():
        _check_value(value, f"{path}.{key}", v)
    return len(v.items) == before


def _check_value(value: Value, path: str, v: Violations) -> None:
    kind = value.WhichOneof("kind")
    if kind == "number_value" and not math.isfinite(value.number_value):
        v.add(path, "must be a finite number")
    elif kind == "struct_value":
        check_struct(value.struct_value, path, v)
    elif kind == "list_value":
        for i, item in enumerate(value.list_value.values):
            _check_value(item, f"{path}[{i}]", v)


def checked_dict(s: Struct, path: str, v: Violations) -> dict[str, Any]:
    """`s` as a dict, once checked (`check_struct`); {} if it has a violation."""
    return MessageToDict(s) if check_struct(s, path, v) else {}
