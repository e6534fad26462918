"""A recorded stream of both topics in one JSON file: the offline `fleet.Source` of the tests.

``{"snapshots": [[key, value], ...], "records": {"<partition>": [[offset, timestamp_ms, value], ...]}}``,
keys and values as base64 text or null, each list in log order.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Iterable

from .fleet import RecordMessage


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


class StreamFileSource:
    """A `fleet.Source` over a recorded stream file."""

    def __init__(self, path: str | Path) -> None:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        self._snapshots = [(_bytes(key), _bytes(value)) for key, value in data.get("snapshots", [])]
        self._records = {int(partition): messages for partition, messages in data.get("records", {}).items()}

    def snapshot_records(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        return iter(self._snapshots)

    def record_partitions(self) -> list[int]:
        return sorted(self._records)

    def record_messages(self, partition: int, start: int) -> Iterable[RecordMessage]:
        for offset, timestamp_ms, value in self._records.get(partition, []):
            if offset >= start:
                yield RecordMessage(offset, timestamp_ms, _bytes(value))
