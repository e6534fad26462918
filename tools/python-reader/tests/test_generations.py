"""The manifest rule and import batches, on values this test writes itself from the schemas (no Kafka)."""

from __future__ import annotations

import hashlib
import io
import unittest

from fastavro import schemaless_writer

from usage_ledger_reader import schemas
from usage_ledger_reader.records_topic import ReplayCounts, apply_message
from usage_ledger_reader.snapshot_topic import collect, restore
from usage_ledger_reader.statistics import Statistics

TOPIC = "usage.records"
ROW = dict(
    source="s",
    auth_index="0",
    epoch_seconds=1_768_046_400,
    nanos=0,
    offset_seconds=0,
    failed=0,
    latency_ms=1,
    input_tokens=10,
    output_tokens=5,
    reasoning_tokens=0,
    cached_tokens=0,
    total_tokens=15,
)


def encode(file: str, value: dict) -> bytes:
    schema = schemas.load(file)
    body = io.BytesIO()
    schemaless_writer(body, schema.parsed, value)
    return schema.header + body.getvalue()


def chunk(partition: int, epoch: int, generation: int, index: int, offset: int, rows: list[dict], topic: str = TOPIC) -> bytes:
    strings: list[str] = []

    def ref(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    full = [{**ROW, "api": "sk-a", "model": "m", **row} for row in rows]
    return encode(
        schemas.SNAPSHOT_CHUNK_V1,
        {
            "source_topic": topic,
            "partition": partition,
            "generation": generation,
            "writer_epoch": epoch,
            "chunk_index": index,
            "detail_offset": offset,
            "strings": strings,
            "api": [ref(r["api"]) for r in full],
            "model": [ref(r["model"]) for r in full],
            "source": [ref(r["source"]) for r in full],
            "auth_index": [ref(r["auth_index"]) for r in full],
            "epoch_seconds": [r["epoch_seconds"] for r in full],
            "nanos": [r["nanos"] for r in full],
            "offset_seconds": [r["offset_seconds"] for r in full],
            "failed": bytes(r["failed"] for r in full),
            **{name: [r[name] for r in full] for name in ("latency_ms", "input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "total_tokens")},
        },
    )


def manifest(
    partition: int,
    epoch: int,
    generation: int,
    chunks: list[tuple[str, int, bytes]],
    totals: tuple[int, int, int, int],
    resume: str = "10",
    fingerprint: int | None = None,
) -> bytes:
    return encode(
        schemas.SNAPSHOT_MANIFEST,
        {
            "source_topic": TOPIC,
            "partition": partition,
            "generation": generation,
            "writer_epoch": epoch,
            "resume_offset": resume,
            "kind": "FULL",
            "base_generation": None,
            "chunks": [
                {"key": key, "detail_count": count, "bytes": len(value), "checksum": hashlib.sha256(value).hexdigest()}
                for key, count, value in chunks
            ],
            "detail_count": sum(count for _, count, _ in chunks),
            "totals": dict(zip(("total_requests", "success_count", "failure_count", "total_tokens"), totals)),
            "written_at": {"epoch_seconds": 1_768_046_400, "nanos": 0, "offset_seconds": 0},
            "schema_fingerprint": (fingerprint if fingerprint is not None else schemas.load(schemas.SNAPSHOT_CHUNK_V1).fingerprint).to_bytes(
                8, "little"
            ),
        },
    )


def k(text: str) -> bytes:
    return text.encode("utf-8")


class ManifestRule(unittest.TestCase):
    def generation(self, epoch: int, generation: int, rows: list[dict], resume: str) -> list[tuple[bytes, bytes]]:
        key = f"c/{TOPIC}/0/{epoch}/{generation}/0"
        value = chunk(0, epoch, generation, 0, 0, rows)
        requests = len(rows)
        tokens = sum(max(r.get("total_tokens", 15), 0) for r in rows)
        return [(k(key), value), (k(f"m/{TOPIC}/0/{epoch}"), manifest(0, epoch, generation, [(key, requests, value)], (requests, requests, 0, tokens), resume))]

    def test_the_newest_epoch_wins_over_a_higher_generation_of_an_older_epoch(self) -> None:
        stale = self.generation(1, 10, [{"nanos": 1}], "5")
        newer = self.generation(2, 6, [{"nanos": 1}, {"nanos": 2}], "8")
        restored = restore(collect(stale + newer, TOPIC)[0], Statistics)
        self.assertEqual((restored.manifest.writer_epoch, restored.resume_offset, restored.statistics.detail_count), (2, 8, 2))

    def test_a_broken_newer_generation_falls_back_to_the_older_one(self) -> None:
        good = self.generation(1, 3, [{"nanos": 1}], "5")
        for breakage, code in [
            ("checksum", "SNAPSHOT_CHECKSUM_MISMATCH"),
            ("tombstone", "SNAPSHOT_CHUNK_MISSING"),
            ("schema", "SNAPSHOT_SCHEMA_MISMATCH"),
            ("totals", "SNAPSHOT_STATE_MISMATCH"),
            ("duplicate", "SNAPSHOT_STATE_MISMATCH"),
        ]:
            with self.subTest(breakage):
                rows = [{"nanos": 1}, {"nanos": 1 if breakage == "duplicate" else 2}]
                key = f"c/{TOPIC}/0/2/4/0"
                value = chunk(0, 2, 4, 0, 0, rows)
                totals = (2, 2, 0, 31 if breakage == "totals" else 30)
                fingerprint = 0x0123456789ABCDEF if breakage == "schema" else None
                newer = [(k(key), value), (k(f"m/{TOPIC}/0/2"), manifest(0, 2, 4, [(key, 2, value)], totals, "9", fingerprint))]
                if breakage == "checksum":
                    newer[0] = (k(key), value[:-1] + bytes([value[-1] ^ 1]))
                if breakage == "tombstone":
                    newer.append((k(key), None))  # type: ignore[arg-type]
                restored = restore(collect(good + newer, TOPIC)[0], Statistics)
                self.assertEqual((restored.manifest.writer_epoch, restored.resume_offset), (1, 5))
                self.assertEqual(len(restored.rejected), 1)
                self.assertTrue(restored.rejected[0][1].startswith(code), restored.rejected[0])

    def test_an_incremental_generation_lists_the_chunks_before_it(self) -> None:
        first_key, second_key = f"c/{TOPIC}/0/1/1/0", f"c/{TOPIC}/0/1/2/0"
        first = chunk(0, 1, 1, 0, 0, [{"nanos": 1}])
        second = chunk(0, 1, 2, 0, 1, [{"nanos": 2, "api": "sk-b", "total_tokens": -5}])
        value = manifest(0, 1, 2, [(first_key, 1, first), (second_key, 1, second)], (2, 2, 0, 15), "12")
        log = collect([(k(first_key), first), (k(second_key), second), (k(f"m/{TOPIC}/0/1"), value)], TOPIC)[0]
        restored = restore(log, Statistics)
        self.assertEqual([d.api for d in restored.statistics.details], ["sk-a", "sk-b"])
        self.assertEqual(restored.statistics.totals(), (2, 2, 0, 15))

    def test_no_complete_generation_starts_from_the_beginning(self) -> None:
        orphan = [(k(f"c/{TOPIC}/0/0/0/0"), chunk(0, 0, 0, 0, 0, [{}]))]
        restored = restore(collect(orphan, TOPIC)[0], Statistics)
        self.assertIsNone(restored.manifest)
        self.assertEqual((restored.resume_offset, restored.statistics.detail_count), (0, 0))

    def test_keys_of_other_topics_and_other_forms_are_ignored(self) -> None:
        records = [(k("m/other/0/1"), b"x"), (k(f"x/{TOPIC}/0/1"), b"x"), (k(f"m/{TOPIC}/0/01"), b"x"), (None, b"x")]
        self.assertEqual(collect(records, TOPIC), {})


class ImportBatches(unittest.TestCase):
    def test_rows_are_merged_raw_names_trimmed_blank_model_unknown_zero_total_filled(self) -> None:
        value = chunk(3, 0, 0, 0, 0, [{"api": " sk-i ", "model": "", "total_tokens": 0}, {"api": "  ", "nanos": 5}, {"nanos": 9, "total_tokens": -2}])
        store, counts = Statistics(), ReplayCounts()
        apply_message(store, 3, 40, 1_768_046_400_000, value, counts)
        self.assertEqual((counts.import_batches, counts.added, counts.duplicates), (1, 2, 0))
        self.assertEqual([(d.api, d.model, d.total_tokens) for d in store.details], [("sk-i", "unknown", 15), ("sk-a", "m", -2)])
        self.assertEqual(store.totals(), (2, 2, 0, 15))

    def test_dead_letters_count_nowhere(self) -> None:
        store, counts = Statistics(), ReplayCounts()
        for offset, value in enumerate([b"", None, b"garbage", b"\xc3\x01" + bytes(8)]):
            apply_message(store, 0, offset, 0, value, counts)
        self.assertEqual([offset for _, offset, _ in counts.dead_letters], [0, 1, 2, 3])
        self.assertEqual([code for _, _, code in counts.dead_letters][2:], ["WIRE_BAD_MARKER", "WIRE_UNKNOWN_FINGERPRINT"])
        self.assertEqual(store.detail_count, 0)


if __name__ == "__main__":
    unittest.main()
