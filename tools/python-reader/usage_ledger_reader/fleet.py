"""The fleet statistics: every partition restored from its newest generation, its tail replayed, all merged.

packages/snapshots/README.md, "Restoring and replaying" and "The fleet".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from .records_topic import ReplayCounts, apply_message
from .snapshot_topic import Restored, collect, restore
from .statistics import Statistics


@dataclass(frozen=True)
class RecordMessage:
    """One message of usage.records: offset, Kafka timestamp (ms; -1 when none) and value."""

    offset: int
    timestamp_ms: int
    value: bytes | None


class Source(Protocol):
    """Where the topics are read from (Kafka, or a recorded stream in tests)."""

    def snapshot_records(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        """Every (key, value) of the snapshot topic, each partition in log order, up to its end at the call."""
        ...

    def record_partitions(self) -> list[int]:
        """The partitions of the records topic."""
        ...

    def record_messages(self, partition: int, start: int) -> Iterable[RecordMessage]:
        """The messages of a records partition from offset ``start`` to its end at the call."""
        ...


@dataclass
class PartitionReport:
    partition: int
    epoch: int | None
    generation: int | None
    resume_offset: int
    restored_details: int
    rejected: list[tuple[str, str]]
    counts: ReplayCounts = field(default_factory=ReplayCounts)


@dataclass
class FleetResult:
    fleet: Statistics
    partitions: list[PartitionReport]


def rebuild_fleet(source: Source, records_topic: str, replay: bool = True) -> FleetResult:
    """Restores every partition of ``records_topic``, replays its tail (unless ``replay`` is False), merges them."""
    logs = collect(source.snapshot_records(), records_topic)
    partitions = sorted(set(logs) | set(source.record_partitions() if replay else []))
    fleet = Statistics()
    reports = []
    for partition in partitions:
        log = logs.get(partition)
        restored = restore(log, Statistics) if log is not None else Restored(None, Statistics(), [])
        store = restored.statistics
        manifest = restored.manifest
        report = PartitionReport(
            partition=partition,
            epoch=None if manifest is None else manifest.writer_epoch,
            generation=None if manifest is None else manifest.generation,
            resume_offset=restored.resume_offset,
            restored_details=store.detail_count,
            rejected=restored.rejected,
        )
        if replay:
            for message in source.record_messages(partition, restored.resume_offset):
                apply_message(store, partition, message.offset, message.timestamp_ms, message.value, report.counts)
        if not replay and manifest is None:
            continue
        fleet.merge_all(store.details)
        reports.append(report)
    return FleetResult(fleet, reports)
