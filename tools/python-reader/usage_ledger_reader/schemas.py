"""The Avro schemas of the repository's ``schemas/`` folder and their fingerprints.

packages/wire/README.md, "Single-object encoding" and "Schema versions and fingerprints": the
fingerprint is CRC-64-AVRO of the schema's Parsing Canonical Form (UTF-8), an unsigned 64-bit
integer, written little-endian after the marker ``C3 01``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

MARKER = b"\xc3\x01"
HEADER_BYTES = 10

_EMPTY = 0xC15D213AA4D7A795
_MASK = 0xFFFFFFFFFFFFFFFF


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp & _MASK)
    return table


_TABLE = _table()


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO of some bytes (the Avro specification's "Schema Fingerprints"), unsigned."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def schema_fingerprint(schema: Any) -> int:
    """The CRC-64-AVRO fingerprint of a schema (parsed JSON): of its Parsing Canonical Form."""
    return crc64_avro(to_parsing_canonical_form(schema).encode("utf-8"))


def fingerprint_hex(fingerprint: int) -> str:
    """The integer as 16 hex digits, most significant first (the TypeScript API's ``fingerprintHex``)."""
    return f"{fingerprint:016x}"


def fingerprint_bytes(fingerprint: int) -> bytes:
    """The 8 header bytes of a fingerprint, in wire order (little-endian)."""
    return fingerprint.to_bytes(8, "little")


@dataclass(frozen=True)
class Schema:
    """One schema file: its JSON, fastavro's parsed form, its fingerprint and single-object header."""

    file: str
    json: Any
    parsed: Any
    fingerprint: int

    @property
    def header(self) -> bytes:
        return MARKER + fingerprint_bytes(self.fingerprint)


def schema_dir() -> Path:
    """``schemas/`` of the repository this package sits in (``USAGE_LEDGER_SCHEMAS`` overrides it)."""
    override = os.environ.get("USAGE_LEDGER_SCHEMAS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "schemas"


@lru_cache(maxsize=None)
def load(file: str) -> Schema:
    """A schema file of ``schemas/`` by name (e.g. ``usage-record.avsc``)."""
    data = json.loads((schema_dir() / file).read_text(encoding="utf-8"))
    # Every schema gets its own table of named types: two versions may share a name.
    parsed = parse_schema(data, named_schemas={})
    return Schema(file=file, json=data, parsed=parsed, fingerprint=schema_fingerprint(data))


USAGE_RECORD = "usage-record.avsc"
USAGE_RECORD_V1 = "usage-record-v1.avsc"
SNAPSHOT_CHUNK_V1 = "snapshot-chunk.avsc"
SNAPSHOT_MANIFEST = "snapshot-manifest.avsc"
