"""Chunk schema version 1 (``schemas/snapshot-chunk.avsc``): columnar batches of detail rows.

packages/wire/README.md, "Detail chunk, version 1"; packages/snapshots/README.md, "Chunk schema
versions" (how a generation of this version becomes a partition's state). Used for snapshot
generations and for import batches on ``usage.records``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from . import schemas
from .single_object import WireError, decode
from .statistics import Detail, Statistics, fill_total
from .timestamps import timestamp_problem

SCHEMA_FILE = schemas.SNAPSHOT_CHUNK_V1

_MAX_WIRE_INTEGER = 2**53 - 2
_MIN_WIRE_INTEGER = -(2**52)
_MAX_SAFE_INTEGER = 2**53 - 1
_MAX_INT = 2**31 - 1
_COLUMNS = [
    "model",
    "source",
    "auth_index",
    "epoch_seconds",
    "nanos",
    "offset_seconds",
    "failed",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
]
_NUMBERS = ["latency_ms", "input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "total_tokens"]


def fingerprint() -> int:
    return schemas.load(SCHEMA_FILE).fingerprint


@dataclass(frozen=True)
class Chunk:
    source_topic: str
    partition: int
    generation: int
    writer_epoch: int
    chunk_index: int
    detail_offset: int
    details: tuple[Detail, ...]


def _invalid(message: str) -> WireError:
    return WireError("WIRE_INVALID_CHUNK", message)


def _counter(value: int, name: str, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise _invalid(f"{name} must be in 0..{maximum}, got {value}")


def decode_chunk(value: bytes) -> Chunk:
    """Decodes and checks a chunk of this version (raises WireError)."""
    c: dict[str, Any] = decode(value, schemas.load(SCHEMA_FILE))
    _counter(c["partition"], "partition", _MAX_INT)
    _counter(c["generation"], "generation", _MAX_WIRE_INTEGER)
    _counter(c["writer_epoch"], "writer_epoch", _MAX_WIRE_INTEGER)
    _counter(c["chunk_index"], "chunk_index", _MAX_INT)
    _counter(c["detail_offset"], "detail_offset", _MAX_WIRE_INTEGER)
    strings: list[str] = c["strings"]
    count = len(c["api"])
    _counter(count, "the detail count", _MAX_INT)
    for name in _COLUMNS:
        if len(c[name]) < count:
            raise _invalid(f"{name} has fewer than {count} entries")
    for name in ("api", "model", "source", "auth_index"):
        for row in range(count):
            if not 0 <= c[name][row] < len(strings):
                raise _invalid(f"{name}[{row}] is outside the string table")
    for name in _NUMBERS:
        for row in range(count):
            if not _MIN_WIRE_INTEGER <= c[name][row] <= _MAX_WIRE_INTEGER:
                raise _invalid(f"{name}[{row}] is outside the wire's integer range")
    details = []
    for row in range(count):
        failed = c["failed"][row]
        if failed > 1:
            raise _invalid(f"failed[{row}] is not 0 or 1")
        problem = timestamp_problem(c["epoch_seconds"][row], c["nanos"][row], c["offset_seconds"][row])
        if problem is not None:
            raise _invalid(f"timestamp of row {row}: {problem}")
        tokens = [c[name][row] for name in ("input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "total_tokens")]
        if abs(fill_total(*tokens)) > _MAX_SAFE_INTEGER:
            raise _invalid(f"the filled-in total of row {row} is not a safe integer")
        details.append(
            Detail(
                api=strings[c["api"][row]],
                model=strings[c["model"][row]],
                epoch_seconds=c["epoch_seconds"][row],
                nanos=c["nanos"][row],
                offset_seconds=c["offset_seconds"][row],
                latency_ms=c["latency_ms"][row],
                source=strings[c["source"][row]],
                auth_index=strings[c["auth_index"][row]],
                failed=failed == 1,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                reasoning_tokens=tokens[2],
                cached_tokens=tokens[3],
                total_tokens=tokens[4],
            )
        )
    return Chunk(
        source_topic=c["source_topic"],
        partition=c["partition"],
        generation=c["generation"],
        writer_epoch=c["writer_epoch"],
        chunk_index=c["chunk_index"],
        detail_offset=c["detail_offset"],
        details=tuple(details),
    )


class Rejected(Exception):
    """A generation that cannot be used, with the code packages/snapshots reports for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class ListedChunk:
    """A chunk a manifest lists: its key's parts, the manifest's entry, and the value on the topic."""

    source_topic: str
    partition: int
    epoch: int
    generation: int
    index: int
    detail_count: int
    value: bytes


def rebuild(listed: Sequence[ListedChunk], new_store: Callable[[], Statistics]) -> Statistics:
    """A partition's state from one generation of this version: every listed chunk's rows merged in order."""
    store = new_store()
    offset = 0
    for ref in listed:
        if ref.detail_count > 0:
            try:
                chunk = decode_chunk(ref.value)
            except WireError as error:
                raise Rejected("SNAPSHOT_INVALID_CHUNK", f"a chunk does not decode: {error}") from error
            if (chunk.source_topic, chunk.partition, chunk.writer_epoch, chunk.generation, chunk.chunk_index) != (
                ref.source_topic,
                ref.partition,
                ref.epoch,
                ref.generation,
                ref.index,
            ):
                raise Rejected("SNAPSHOT_INVALID_CHUNK", "a chunk does not match its key")
            if chunk.detail_offset != offset or len(chunk.details) != ref.detail_count:
                raise Rejected("SNAPSHOT_INVALID_CHUNK", "a chunk does not match its place in the manifest")
            store.merge_all(chunk.details)
        offset += ref.detail_count
    return store
