from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
BOUNDS_FIELD_NUMBER: _ClassVar[int]
bounds: _descriptor.FieldDescriptor

class Bounds(_message.Message):
    __slots__ = ("max_chars", "max_items", "max_key_chars", "max_bytes")
    MAX_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_chars: int
    max_items: int
    max_key_chars: int
    max_bytes: int
    def __init__(self, max_chars: _Optional[int] = ..., max_items: _Optional[int] = ..., max_key_chars: _Optional[int] = ..., max_bytes: _Optional[int] = ...) -> None: ...
