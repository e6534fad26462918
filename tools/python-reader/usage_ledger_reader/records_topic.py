"""``usage.records``: what one message does to its partition's state.

packages/wire/README.md, "Applying usage.records": an import batch (a chunk of the current chunk
version) is merged row by row; anything else is a usage record of the current schema, merged as
one detail; a message that fails either way is what the aggregator dead-letters, and counts nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import chunk_v1
from .single_object import WireError, writer_fingerprint
from .statistics import Statistics
from .usage_record import decode_record, to_detail


@dataclass
class ReplayCounts:
    """What a replay did (the aggregator's counters of the same names)."""

    added: int = 0
    duplicates: int = 0
    ignored: int = 0
    import_batches: int = 0
    dead_letters: list[tuple[int, int, str]] = field(default_factory=list)
    """(partition, offset, reason code) of every message the aggregator would dead-letter."""


def apply_message(
    store: Statistics, partition: int, offset: int, kafka_timestamp_ms: int, value: bytes | None, counts: ReplayCounts
) -> None:
    """Applies one message of ``usage.records`` to its partition's state."""
    value = value or b""
    try:
        if writer_fingerprint(value) == chunk_v1.fingerprint():
            chunk = chunk_v1.decode_chunk(value)
            added, skipped = store.merge_all(chunk.details)
            counts.added += added
            counts.duplicates += skipped
            counts.import_batches += 1
            return
        detail = to_detail(decode_record(value), kafka_timestamp_ms, offset)
    except WireError as error:
        counts.dead_letters.append((partition, offset, error.code))
        return
    result = store.merge(detail)
    if result == "added":
        counts.added += 1
    elif result == "skipped":
        counts.duplicates += 1
    else:
        counts.ignored += 1
