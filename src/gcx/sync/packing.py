"""The ledger's stored byte formats (schema 3), as plain functions of the text the rest of gcx
uses (JSON text, hex hashes, ISO timestamps) and back: no database here, so that pure code
(:mod:`gcx.sync.plan`) can pack a record's values as the ledger will store them.
:mod:`gcx.sync.ledger_codec` makes them column types.

* :func:`pack_json`: a JSON object of text values whose keys are all field paths gcx can manage
  (a record's applied values, most of the ledger) as format byte ``2``, which of those paths it
  holds (a 32-bit mask over :data:`PATHS`) and the values joined by NUL (:func:`pack_texts`,
  :func:`pack_values`): a contact's 176 bytes take about 95, with no compression to pay for (a
  deflate per record was a tenth of a first sync's CPU). Any other JSON text (numbers, lists,
  nulls, other keys, an op's undo) as format byte ``1`` and raw deflate against a preset
  dictionary of those paths (the key names of a record's values are most of its JSON). Either
  is chosen only when it reads back the very text written (:func:`unpack_json`).
  :func:`pack_json_stored` writes format 1 without compressing (deflate's stored blocks, read by
  the same inflate).
* :func:`pack_digest`: a 32-hex-digit hash as its 16 bytes; any other hash text
  (``conflict:...``, ``reconciled``, empty) as ``0x00`` + its UTF-8 (padded with ``0x00`` when
  that makes 16 bytes: a 16-byte value always means a digest).
* :func:`pack_id`: a Genesys id in the canonical UUID form as its 16 bytes; any other id as
  ``0x00`` + its UTF-8, padded the same way.
* :data:`KIND_CODES`, :data:`OP_CODES`: a record's kind and an op's name as one letter.
* :func:`epoch`: an ISO timestamp (``_now()``, seconds, UTC) as integer seconds (:func:`iso`).

Each ``unpack_*`` (and :func:`iso`) passes through a value of the older text form (a ledger
opened read-only by ``sync plan`` or ``sync status`` before it was migrated).
"""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

#: The field paths of the stored formats, in this order: bit ``i`` of format 2's mask is
#: ``PATHS[i]``, and format 1's dictionary is made of them. Part of the stored format: never
#: reorder or remove one. A path gcx learns to manage later may be appended (up to 32); until
#: it is, records holding it are stored in format 1 (tests/sync/test_ledger_compact.py checks
#: that every managed path is here).
PATHS: tuple[str, ...] = (
    "address.address1",
    "address.address2",
    "address.city",
    "address.countryCode",
    "address.postalCode",
    "address.state",
    "cellPhone",
    "companyType",
    "employeeCount",
    "externalSystemUrl",
    "faxNumber",
    "firstName",
    "homePhone",
    "industry",
    "lastName",
    "middleName",
    "name",
    "organization",
    "otherEmail",
    "otherPhone",
    "personalEmail",
    "phoneNumber",
    "revenue",
    "salutation",
    "surveyOptOut",
    "tags",
    "title",
    "websites",
    "workEmail",
    "workPhone",
)
_PACKED = 1  # format byte of deflated JSON text
_FORMAT = bytes([_PACKED])
_TEXTS = 2  # format byte of text values of known paths
_TEXTS_BYTE = bytes([_TEXTS])
#: format 2's head: its format byte and the mask of the paths held
_TEXTS_HEAD = struct.Struct("<BI")
#: each path's bit in the mask
_BIT = {p: 1 << i for i, p in enumerate(PATHS)}
_SORTED = orjson.OPT_SORT_KEYS
# Part of the stored format: never change it (a new one gets a new format byte).
_DICTIONARY = (
    "".join(f'"{p}":' for p in PATHS) + '"applied":"before":"added":"hash":"org_key":null,true,false,'
).encode()
_PRIMED = zlib.compressobj(6, zlib.DEFLATED, -10, 4, zlib.Z_DEFAULT_STRATEGY, zdict=_DICTIONARY)
_HEX32 = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: a record's kind and an op's name as stored: one letter (part of the stored format)
KIND_CODES = {"organization": "o", "contact": "c"}
OP_CODES = {"create": "c", "update": "u", "move": "m", "delete": "d"}


def pack_json(text: str) -> bytes:
    """JSON text -> stored bytes: :func:`pack_texts` when it can hold the text, else format 1
    (format byte + raw deflate with the preset dictionary)."""
    raw = text.encode("utf-8")
    packed = pack_texts(raw)
    if packed is not None:
        return packed
    co = _PRIMED.copy()  # the dictionary loaded once; a copy compresses exactly as a new one
    return _FORMAT + co.compress(raw) + co.flush()


def pack_texts(raw: bytes) -> bytes | None:
    """UTF-8 JSON text -> format 2 (format byte, the mask of the paths held, the values joined
    by NUL), or ``None`` unless the text is exactly what :func:`unpack_json` writes back from
    that: an object of one or more text values whose keys are in :data:`PATHS`, in its (sorted)
    order, written compactly with nothing escaped (orjson's form of such an object).

    Written back exactly: a text orjson reads holds no raw control character; with no backslash
    nothing in it is escaped, so each key and value is its own UTF-8 between quotes; then any
    other form (a space, a key twice) is longer than ``{"key":"value",...}``, whose length the
    values and the mask give.
    """
    if not raw.startswith(b'{"') or b"\\" in raw:
        return None
    try:
        values = orjson.loads(raw)
        joined = "\x00".join(values.values()).encode("utf-8")  # TypeError: not all text
    except (orjson.JSONDecodeError, TypeError):
        return None
    found = _mask(tuple(values))
    if found is None:
        return None  # a key not in PATHS, or keys out of its order
    mask, keys_length = found
    n = len(values)
    if len(raw) != 2 + keys_length + 5 * n + len(joined):  # '{' '}', and '"' '":"' '",' per key
        return None
    return _TEXTS_HEAD.pack(_TEXTS, mask) + joined


def pack_values(values: Mapping[str, Any], text: str) -> bytes | None:
    """:func:`pack_texts` of ``text``, the ledger's JSON of ``values`` (``jsonfast.dumps_sorted``:
    compact, keys sorted), made from the values themselves instead of parsing the text again:
    ``None`` when the text is not format 2's (then :func:`pack_json` of the text stores it).

    The same refusals: with a backslash in the text some value was escaped (a quote, a
    backslash, a control character); a value not text, or a key not in :data:`PATHS`, is not
    format 2's; and the text must be as long as the compact form of those values (PATHS is in
    sorted order, the order of the text's keys)."""
    if not values or "\\" in text:
        return None
    found = _mask_any_order(tuple(values))
    if found is None:
        return None
    mask, keys_length = found
    try:
        joined = "\x00".join(map(values.__getitem__, _paths(mask)))
        data = joined.encode("utf-8")
    except (TypeError, UnicodeEncodeError):  # a value not text; a lone surrogate (no format holds it)
        return None
    if len(text) != 2 + keys_length + 5 * len(values) + len(joined):
        return None
    return _TEXTS_HEAD.pack(_TEXTS, mask) + data


@lru_cache(maxsize=1024)  # a source's records have a few shapes
def _mask_any_order(keys: tuple[str, ...]) -> tuple[int, int] | None:
    """Format 2's mask of ``keys`` and their length (ASCII), when they are all in :data:`PATHS`
    (in any order; none twice)."""
    if any(type(k) is not str or k not in _BIT for k in keys):
        return None
    mask = sum(_BIT[k] for k in keys)
    return (mask, sum(map(len, keys))) if len(_paths(mask)) == len(keys) else None


@lru_cache(maxsize=1024)  # a source's records have a few shapes
def _mask(keys: tuple[str, ...]) -> tuple[int, int] | None:
    """Format 2's mask of ``keys`` and their length in UTF-8, when they are all in
    :data:`PATHS`, in its order."""
    if any(k not in _BIT for k in keys):
        return None
    mask = sum(_BIT[k] for k in keys)
    return (mask, sum(len(k.encode()) for k in keys)) if _paths(mask) == keys else None


def _unpack_texts(raw: bytes) -> str:
    """Format 2 -> the JSON text it was made of (:func:`pack_texts`)."""
    paths = _paths(_TEXTS_HEAD.unpack_from(raw)[1])
    texts = raw[_TEXTS_HEAD.size :].decode("utf-8").split("\x00")
    if len(texts) != len(paths):
        raise ValueError(f"ledger value of format 2 holds {len(texts)} values for {len(paths)} paths")
    return orjson.dumps(dict(zip(paths, texts, strict=True)), option=_SORTED).decode("utf-8")


@lru_cache(maxsize=1024)  # a source's records have a few shapes
def _paths(mask: int) -> tuple[str, ...]:
    """The paths of a format-2 mask, in :data:`PATHS`' order."""
    return tuple(p for p, bit in _BIT.items() if mask & bit)


_STORED_MAX = 0xFFFF  # the most bytes one stored block holds
#: format byte, BFINAL and BTYPE 00, LEN and NLEN of a stream of one stored block
_ONE_BLOCK = struct.Struct("<BBHH")


def pack_json_stored(text: str) -> bytes:
    """JSON text -> stored bytes of the same format as :func:`pack_json`, not compressed: raw
    deflate of stored blocks (each a header byte, its length and the length's complement, then
    the bytes), which :func:`unpack_json` reads like any deflate stream."""
    raw = text.encode("utf-8")
    n = len(raw)
    if n <= _STORED_MAX:  # one final block (any op's values): the bytes the loop below makes
        return _ONE_BLOCK.pack(_PACKED, 1, n, n ^ 0xFFFF) + raw
    out = bytearray((_PACKED,))
    for at in range(0, n, _STORED_MAX):
        block = raw[at : at + _STORED_MAX]
        out.append(1 if at + _STORED_MAX >= len(raw) else 0)  # BFINAL on the last, BTYPE 00
        out += len(block).to_bytes(2, "little") + (len(block) ^ 0xFFFF).to_bytes(2, "little")
        out += block
    return bytes(out)


def unpack_json(data: bytes | str) -> str:
    """Stored bytes -> JSON text (text of a ledger not migrated yet is returned as it is)."""
    if isinstance(data, str):
        return data
    raw = bytes(data)
    if raw[:1] == _TEXTS_BYTE and len(raw) >= _TEXTS_HEAD.size:
        return _unpack_texts(raw)
    if not raw or raw[0] != _PACKED:
        raise ValueError(f"ledger value in an unknown format (first byte {raw[:1]!r})")
    do = zlib.decompressobj(-15, zdict=_DICTIONARY)
    return (do.decompress(raw[1:]) + do.flush()).decode("utf-8")


def pack_digest(text: str) -> bytes:
    if len(text) == 32 and _HEX32.fullmatch(text):
        return bytes.fromhex(text)
    return _tagged(text)


def unpack_digest(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    raw = bytes(data)
    return raw.hex() if len(raw) == 16 else _untagged(raw)


def _tagged(text: str) -> bytes:
    out = b"\x00" + text.encode("utf-8")
    return out + b"\x00" if len(out) == 16 else out  # 16 bytes always mean the compact form


def _untagged(raw: bytes) -> str:
    return raw[1:].rstrip(b"\x00").decode("utf-8")


def pack_id(text: str) -> bytes:
    if len(text) == 36 and _UUID.fullmatch(text):
        return bytes.fromhex(text.replace("-", ""))  # uuid.UUID(text).bytes, without the object
    return _tagged(text)


def unpack_id(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    raw = bytes(data)
    return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else _untagged(raw)


@lru_cache(maxsize=256)  # a batch writes one timestamp on each of its rows
def epoch(text: str) -> int:
    """An ISO timestamp -> integer seconds (UTC when it names no zone)."""
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp())


def iso(seconds: int | str) -> str:
    if isinstance(seconds, str):
        return seconds
    return datetime.fromtimestamp(int(seconds), UTC).isoformat(timespec="seconds")
