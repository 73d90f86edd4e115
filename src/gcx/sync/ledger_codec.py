"""How the ledger stores its values compactly (schema 3), as column types that read and write
what the rest of gcx already uses: JSON text, hex hashes and ISO timestamps. The byte formats
are :mod:`gcx.sync.packing`'s (no database there); here they are SQLAlchemy types.

* :class:`PackedJson`: JSON text as :func:`~gcx.sync.packing.pack_json` stores it (format 2 for
  a record's text values of known paths, else format 1, deflated against a dictionary).
  :class:`LoosePackedJson` writes format 1 without compressing (deflate's stored
  blocks, read by the same inflate): for the values an op keeps only while it is open, written
  once and deleted moments later, where a deflate per record cost more than the bytes it saved.
* :class:`Digest`: a 32-hex-digit hash as its 16 bytes (other hash text tagged).
* :class:`GenesysId`: a Genesys id in the canonical UUID form as its 16 bytes (other ids tagged).
* :class:`KindCode`, :class:`OpCode`: a record's kind and an op's name as one letter
  (``organization`` ``o``, ``contact`` ``c``; ``create`` ``c``, ``update`` ``u``, ``move`` ``m``,
  ``delete`` ``d``): four columns of every record and op, two of them in indexes.
* :class:`EpochTime`: an ISO timestamp (``_now()``, seconds, UTC) as integer seconds.

Each reads back what was written, and passes through a value of the older text form (a ledger
opened read-only by ``sync plan`` or ``sync status`` before it was migrated). Each type's ``pack``
is its write conversion as a plain function of the value (:func:`packer`): what the ledger's bulk
writes (:mod:`gcx.sync.ledger_bulk`) apply per value, without SQLAlchemy's bind-processing layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from gcx.sync import packing


class PackedJson(TypeDecorator[str]):
    """JSON text stored packed (:func:`~gcx.sync.packing.pack_json`)."""

    impl = LargeBinary
    cache_ok = True
    pack = staticmethod(packing.pack_json)

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else self.pack(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else packing.unpack_json(value)


class LoosePackedJson(PackedJson):
    """JSON text stored in :class:`PackedJson`'s format, not compressed
    (:func:`~gcx.sync.packing.pack_json_stored`)."""

    cache_ok = True
    pack = staticmethod(packing.pack_json_stored)


class Digest(TypeDecorator[str]):
    """A hash stored as its bytes (:func:`~gcx.sync.packing.pack_digest`)."""

    impl = LargeBinary
    cache_ok = True
    pack = staticmethod(packing.pack_digest)

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else self.pack(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else packing.unpack_digest(value)


class GenesysId(TypeDecorator[str]):
    """A Genesys id stored as its bytes (:func:`~gcx.sync.packing.pack_id`)."""

    impl = LargeBinary
    cache_ok = True
    pack = staticmethod(packing.pack_id)

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else self.pack(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else packing.unpack_id(value)


class EpochTime(TypeDecorator[str]):
    """An ISO timestamp stored as integer seconds."""

    impl = BigInteger
    cache_ok = True
    pack = staticmethod(packing.epoch)

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else self.pack(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else packing.iso(value)


class _Letter(TypeDecorator[str]):
    """A name from a closed set stored as one letter (a name outside the set as it is)."""

    impl = String(16)
    cache_ok = True
    codes: dict[str, str] = {}
    names: dict[str, str] = {}

    def pack(self, value: str) -> str:
        return self.codes.get(value, value)

    def pack_many(self, values: Sequence[Any]) -> list[Any]:
        """:meth:`pack` of each value (``None`` stays ``None``), without a Python call per value."""
        return list(map(self.codes.get, values, values))

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.pack(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.names.get(str(value), str(value))


class KindCode(_Letter):
    """A record's kind stored as ``o`` or ``c``."""

    cache_ok = True
    codes = packing.KIND_CODES
    names = {v: k for k, v in packing.KIND_CODES.items()}


class OpCode(_Letter):
    """An op's name stored as ``c``, ``u``, ``m`` or ``d``."""

    cache_ok = True
    codes = packing.OP_CODES
    names = {v: k for k, v in packing.OP_CODES.items()}


def column_packer(column_type: Any) -> Callable[[Sequence[Any]], list[Any]] | None:
    """The write conversion of a whole column of values of one of these types, when the type has
    one faster than :func:`packer` value by value (a letter code); ``None`` otherwise."""
    return column_type.pack_many if isinstance(column_type, _Letter) else None


def packer(column_type: Any) -> Callable[[Any], Any] | None:
    """The write conversion of one of these column types, as a function of a (non-null) value of
    the type it reads back (``str``); ``None`` for any other type."""
    return (
        column_type.pack if isinstance(column_type, TypeDecorator) and hasattr(column_type, "pack") else None
    )
