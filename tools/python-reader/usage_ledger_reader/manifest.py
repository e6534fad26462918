"""Snapshot manifests (``schemas/snapshot-manifest.avsc``) and their rules.

packages/wire/README.md, "Snapshot manifest, version 1".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import schemas
from .single_object import WireError, decode
from .timestamps import timestamp_problem

_MAX_WIRE_INTEGER = 2**53 - 2
_MAX_INT = 2**31 - 1
_OFFSET = re.compile(r"(?:0|[1-9][0-9]*)")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ChunkRef:
    key: str
    detail_count: int
    bytes: int
    checksum: str


@dataclass(frozen=True)
class Manifest:
    source_topic: str
    partition: int
    generation: int
    writer_epoch: int
    resume_offset: int
    kind: str
    base_generation: int | None
    chunks: tuple[ChunkRef, ...]
    detail_count: int
    totals: tuple[int, int, int, int]
    schema_fingerprint: int
    """The chunk schema's fingerprint as an integer (the field holds its 8 bytes little-endian)."""


def _count(value: int, name: str, maximum: int = _MAX_WIRE_INTEGER) -> int:
    if not 0 <= value <= maximum:
        raise WireError("WIRE_INVALID_MANIFEST", f"{name} must be in 0..{maximum}, got {value}")
    return value


def decode_manifest(value: bytes) -> Manifest:
    """Decodes and checks a manifest (raises WireError)."""
    m = decode(value, schemas.load(schemas.SNAPSHOT_MANIFEST))
    _count(m["partition"], "partition", _MAX_INT)
    _count(m["generation"], "generation")
    _count(m["writer_epoch"], "writer_epoch")
    if not _OFFSET.fullmatch(m["resume_offset"]):
        raise WireError("WIRE_INVALID_MANIFEST", f"resume_offset {m['resume_offset']!r} is not a decimal offset")
    kind, base = m["kind"], m["base_generation"]
    if kind == "FULL" and base is not None:
        raise WireError("WIRE_INVALID_MANIFEST", "a FULL generation has no base_generation")
    if kind == "INCREMENTAL" and (base is None or not 0 <= base < m["generation"]):
        raise WireError("WIRE_INVALID_MANIFEST", f"base_generation {base} must be below generation {m['generation']}")
    chunks = []
    for i, ref in enumerate(m["chunks"]):
        _count(ref["detail_count"], f"chunks[{i}].detail_count")
        _count(ref["bytes"], f"chunks[{i}].bytes")
        if not _SHA256.fullmatch(ref["checksum"]):
            raise WireError("WIRE_INVALID_MANIFEST", f"chunks[{i}].checksum is not 64 lowercase hex digits")
        chunks.append(ChunkRef(ref["key"], ref["detail_count"], ref["bytes"], ref["checksum"]))
    listed = sum(ref.detail_count for ref in chunks)
    detail_count = _count(m["detail_count"], "detail_count")
    if detail_count < listed or (kind == "FULL" and detail_count != listed):
        raise WireError("WIRE_INVALID_MANIFEST", f"detail_count {detail_count} does not fit the chunks' {listed}")
    t = m["totals"]
    totals = tuple(_count(t[name], f"totals.{name}") for name in ("total_requests", "success_count", "failure_count", "total_tokens"))
    if totals[1] + totals[2] != totals[0]:
        raise WireError("WIRE_INVALID_MANIFEST", "success_count + failure_count must equal total_requests")
    written = m["written_at"]
    problem = timestamp_problem(written["epoch_seconds"], written["nanos"], written["offset_seconds"])
    if problem is not None:
        raise WireError("WIRE_INVALID_MANIFEST", f"written_at: {problem}")
    return Manifest(
        source_topic=m["source_topic"],
        partition=m["partition"],
        generation=m["generation"],
        writer_epoch=m["writer_epoch"],
        resume_offset=int(m["resume_offset"]),
        kind=kind,
        base_generation=base,
        chunks=tuple(chunks),
        detail_count=detail_count,
        totals=totals,  # type: ignore[arg-type]
        schema_fingerprint=int.from_bytes(m["schema_fingerprint"], "little"),
    )
