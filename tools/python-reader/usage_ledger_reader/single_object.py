"""Avro single-object encoding: ``C3 01``, the writer's fingerprint (8 bytes, little-endian), the body.

packages/wire/README.md, "Single-object encoding". Errors carry the codes of its error table, so a
report names the same reason the aggregator's dead-letter topic would.
"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader

from .schemas import HEADER_BYTES, MARKER, Schema


class WireError(Exception):
    """A value that does not decode, or breaks a rule of the wire format."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def writer_fingerprint(value: bytes) -> int | None:
    """The fingerprint a single-object encoding names, or None when ``value`` has no such header."""
    if len(value) < HEADER_BYTES or value[:2] != MARKER:
        return None
    return int.from_bytes(value[2:HEADER_BYTES], "little")


def decode(value: bytes, writer: Schema, reader: Schema | None = None) -> Any:
    """Decodes a single-object encoding written with ``writer`` (resolved into ``reader`` when given).

    The header must name ``writer``; the body must end exactly at the end of ``value``. Strings are
    UTF-8, an invalid byte sequence becoming U+FFFD (as the TypeScript decoder does).
    """
    if len(value) < 2 or value[:2] != MARKER:
        if len(value) < 2 and MARKER.startswith(value):
            raise WireError("WIRE_TRUNCATED", "the value ends inside the marker")
        raise WireError("WIRE_BAD_MARKER", "the value does not start with C3 01")
    if len(value) < HEADER_BYTES:
        raise WireError("WIRE_TRUNCATED", "the value ends inside the header")
    fingerprint = writer_fingerprint(value)
    if fingerprint != writer.fingerprint:
        raise WireError("WIRE_UNKNOWN_FINGERPRINT", f"writer fingerprint {fingerprint:016x} is not {writer.file}")
    body = io.BytesIO(value)
    body.seek(HEADER_BYTES)
    try:
        decoded = schemaless_reader(
            body,
            writer.parsed,
            reader.parsed if reader is not None else None,
            handle_unicode_errors="replace",
        )
    except EOFError as error:
        raise WireError("WIRE_TRUNCATED", f"the body ends early: {error}") from error
    except Exception as error:  # fastavro raises assorted errors for a malformed body
        raise WireError("WIRE_MALFORMED_BODY", f"the body does not decode: {error!r}") from error
    if body.tell() != len(value):
        raise WireError("WIRE_TRAILING_BYTES", f"{len(value) - body.tell()} bytes follow the body")
    return decoded
