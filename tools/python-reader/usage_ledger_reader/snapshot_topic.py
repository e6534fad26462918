"""``usage.snapshots``: keys, the latest value per key, and the manifest rule.

packages/snapshots/README.md, "Keys", "The manifest rule (restore)" and "Chunk schema versions".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import chunk_v1
from .chunk_v1 import ListedChunk, Rejected
from .manifest import Manifest, decode_manifest
from .single_object import WireError, writer_fingerprint
from .statistics import Statistics

_NUMBER = re.compile(r"0|[1-9][0-9]{0,15}")
_MAX_SAFE_INTEGER = 2**53 - 1

# Chunk schema versions this reader knows, by fingerprint: each module rebuilds a partition's state
# from the chunks one manifest lists (a new version is a new module and a line here).
CHUNK_VERSIONS = {chunk_v1.fingerprint(): chunk_v1}


@dataclass(frozen=True)
class ManifestKey:
    source_topic: str
    partition: int
    epoch: int


@dataclass(frozen=True)
class ChunkKey:
    source_topic: str
    partition: int
    epoch: int
    generation: int
    index: int


def parse_key(key: str) -> ManifestKey | ChunkKey | None:
    """``m/<topic>/<partition>/<epoch>`` or ``c/<topic>/<partition>/<epoch>/<generation>/<index>``; else None."""
    parts = key.split("/")
    if len(parts) < 2 or parts[1] == "":
        return None
    numbers = []
    for part in parts[2:]:
        if not _NUMBER.fullmatch(part) or int(part) > _MAX_SAFE_INTEGER:
            return None
        numbers.append(int(part))
    if parts[0] == "m" and len(numbers) == 2:
        return ManifestKey(parts[1], *numbers)
    if parts[0] == "c" and len(numbers) == 4:
        return ChunkKey(parts[1], *numbers)
    return None


@dataclass
class PartitionLog:
    """The latest value of every key of one source partition (None: a tombstone)."""

    source_topic: str
    partition: int
    values: dict[str, bytes | None] = field(default_factory=dict)


def collect(records: Iterable[tuple[bytes | None, bytes | None]], source_topic: str) -> dict[int, PartitionLog]:
    """Groups snapshot-topic records (key, value) in log order into one log per source partition of ``source_topic``."""
    logs: dict[int, PartitionLog] = {}
    for raw_key, value in records:
        if raw_key is None:
            continue
        key = raw_key.decode("utf-8", "replace")
        parsed = parse_key(key)
        if parsed is None or parsed.source_topic != source_topic:
            continue
        log = logs.get(parsed.partition)
        if log is None:
            log = logs[parsed.partition] = PartitionLog(source_topic, parsed.partition)
        log.values[key] = value
    return logs


@dataclass(frozen=True)
class Restored:
    """A partition's newest complete generation, and what was passed over on the way."""

    manifest: Manifest | None
    statistics: Statistics
    rejected: list[tuple[str, str]]
    """(manifest key, reason) of every manifest passed over."""

    @property
    def resume_offset(self) -> int:
        return 0 if self.manifest is None else self.manifest.resume_offset


def restore(log: PartitionLog, new_store: Callable[[], Statistics]) -> Restored:
    """The manifest rule: the newest (epoch, generation) whose chunks all verify and rebuild its state."""
    candidates: list[tuple[str, Manifest]] = []
    rejected: list[tuple[str, str]] = []
    for key, value in log.values.items():
        parsed = parse_key(key)
        if not isinstance(parsed, ManifestKey) or value is None:
            continue
        try:
            manifest = decode_manifest(value)
        except WireError as error:
            rejected.append((key, f"SNAPSHOT_INVALID_MANIFEST: {error}"))
            continue
        if (manifest.source_topic, manifest.partition, manifest.writer_epoch) != (parsed.source_topic, parsed.partition, parsed.epoch):
            rejected.append((key, "SNAPSHOT_INVALID_MANIFEST: the manifest does not match its key"))
            continue
        candidates.append((key, manifest))
    candidates.sort(key=lambda candidate: (candidate[1].writer_epoch, candidate[1].generation), reverse=True)
    for key, manifest in candidates:
        try:
            statistics = _rebuild(log, manifest, new_store)
        except Rejected as error:
            rejected.append((key, str(error)))
            continue
        return Restored(manifest, statistics, rejected)
    return Restored(None, new_store(), rejected)


def _rebuild(log: PartitionLog, manifest: Manifest, new_store: Callable[[], Statistics]) -> Statistics:
    keys: list[ChunkKey] = []
    for ref in manifest.chunks:
        parsed = parse_key(ref.key)
        if not isinstance(parsed, ChunkKey) or (parsed.source_topic, parsed.partition) != (manifest.source_topic, manifest.partition):
            raise Rejected("SNAPSHOT_INVALID_MANIFEST", f"{ref.key!r} is not a chunk key of this partition")
        keys.append(parsed)
    version = CHUNK_VERSIONS.get(manifest.schema_fingerprint)
    if version is None:
        raise Rejected("SNAPSHOT_SCHEMA_MISMATCH", f"chunk schema {manifest.schema_fingerprint:016x} is not known")
    listed: list[ListedChunk] = []
    for ref, key in zip(manifest.chunks, keys):
        value = log.values.get(ref.key)
        if value is None:
            raise Rejected("SNAPSHOT_CHUNK_MISSING", f"chunk {ref.key} is absent or tombstoned")
        if len(value) != ref.bytes or hashlib.sha256(value).hexdigest() != ref.checksum:
            raise Rejected("SNAPSHOT_CHECKSUM_MISMATCH", f"chunk {ref.key} does not match its length and checksum")
        if writer_fingerprint(value) != manifest.schema_fingerprint:
            raise Rejected("SNAPSHOT_SCHEMA_MISMATCH", f"chunk {ref.key} is not written with the manifest's schema")
        listed.append(ListedChunk(key.source_topic, key.partition, key.epoch, key.generation, key.index, ref.detail_count, value))
    if sum(ref.detail_count for ref in manifest.chunks) != manifest.detail_count:
        raise Rejected("SNAPSHOT_INVALID_MANIFEST", "the chunks' detail counts do not add up to the manifest's")
    statistics = version.rebuild(listed, new_store)
    if statistics.detail_count != manifest.detail_count or statistics.totals() != manifest.totals:
        raise Rejected(
            "SNAPSHOT_STATE_MISMATCH",
            f"rebuilt {statistics.detail_count} details, totals {statistics.totals()}; the manifest says "
            f"{manifest.detail_count}, {manifest.totals}",
        )
    return statistics
