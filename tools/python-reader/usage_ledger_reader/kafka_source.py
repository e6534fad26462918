"""Reading the two topics from Kafka with confluent-kafka (librdkafka).

A read takes each partition's end offset (high watermark) when it starts and reads up to it:
records appended meanwhile are not waited for. Compaction leaves gaps in the snapshot topic's
offsets, so a read ends when the position reaches the end offset, not after a count of records.
No consumer group is joined (partitions are assigned) and nothing is committed.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterable, Iterator

from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition

from .fleet import RecordMessage

_TIMEOUT_S = 30.0


class KafkaSource:
    """A `fleet.Source` reading a records topic and a snapshot topic from a Kafka cluster."""

    def __init__(self, bootstrap_servers: str, records_topic: str, snapshots_topic: str, stall_timeout_s: float = 60.0) -> None:
        self.records_topic = records_topic
        self.snapshots_topic = snapshots_topic
        self.stall_timeout_s = stall_timeout_s
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                # Required by the client; never joined (partitions are assigned) and never committed.
                "group.id": f"usage-ledger-python-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                # A start offset that no longer exists (retention) is an error, never a silent skip.
                "auto.offset.reset": "error",
                "client.id": "usage-ledger-python-reader",
                # Above any chunk (a chunk fits the topic's max.message.bytes).
                "max.partition.fetch.bytes": 8 * 1024 * 1024,
            }
        )

    def close(self) -> None:
        self.consumer.close()

    def _partitions(self, topic: str) -> list[int]:
        metadata = self.consumer.list_topics(topic, timeout=_TIMEOUT_S)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            raise KafkaException(described.error if described is not None else KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
        return sorted(described.partitions)

    def snapshot_records(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        for partition in self._partitions(self.snapshots_topic):
            for message in self._read(self.snapshots_topic, partition, None):
                yield message.key(), message.value()

    def record_partitions(self) -> list[int]:
        return self._partitions(self.records_topic)

    def record_messages(self, partition: int, start: int) -> Iterable[RecordMessage]:
        for message in self._read(self.records_topic, partition, start):
            kind, timestamp = message.timestamp()
            yield RecordMessage(message.offset(), -1 if kind == TIMESTAMP_NOT_AVAILABLE else timestamp, message.value())

    def _read(self, topic: str, partition: int, start: int | None) -> Iterator:
        low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=_TIMEOUT_S)
        first = low if start is None else start
        if first >= high:
            return
        self.consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING if start is None else start)])
        try:
            position = first
            progress = time.monotonic()
            while position < high:
                message = self.consumer.poll(1.0)
                if message is None:
                    if time.monotonic() - progress > self.stall_timeout_s:
                        raise TimeoutError(f"no progress reading {topic}/{partition} at offset {position} (end {high})")
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        position = max(position, message.offset())
                        continue
                    raise KafkaException(error)
                progress = time.monotonic()
                position = message.offset() + 1
                if message.offset() < high:
                    yield message
        finally:
            self.consumer.unassign()
