"""The reader against the specification's own statements: tables, examples and rules of the READMEs."""

from __future__ import annotations

import io
import re
import unittest
from pathlib import Path

from fastavro import schemaless_writer

from usage_ledger_reader import schemas
from usage_ledger_reader.gojson import go_string
from usage_ledger_reader.single_object import WireError
from usage_ledger_reader.statistics import Detail, Statistics, go_trim_space
from usage_ledger_reader.timestamps import day_key, hour_key, rfc3339nano
from usage_ledger_reader.usage_record import RECORD_FIELDS, decode_record, decode_record_of, log_timestamp

ROOT = Path(__file__).resolve().parents[3]
WIRE_README = (ROOT / "packages" / "wire" / "README.md").read_text(encoding="utf-8")


def detail(**fields: object) -> Detail:
    base: dict[str, object] = dict(
        api="sk-a",
        model="gpt-5",
        epoch_seconds=1_768_046_400,
        nanos=500_000_000,
        offset_seconds=28_800,
        latency_ms=0,
        source="alice@example.com",
        auth_index="0",
        failed=False,
        input_tokens=100,
        output_tokens=30,
        reasoning_tokens=0,
        cached_tokens=0,
        total_tokens=0,
    )
    base.update(fields)
    return Detail(**base)  # type: ignore[arg-type]


def schema_fields(schema: dict) -> list[str]:
    """Field paths of the usage record: nested fields of `tokens` by path, `timestamp` as one."""
    paths = []
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, dict) and kind.get("type") == "record":
            paths.extend(f"{field['name']}.{inner['name']}" for inner in kind["fields"])
        else:
            paths.append(field["name"])
    return paths


class FingerprintTable(unittest.TestCase):
    def test_crc64_avro_test_vector(self) -> None:
        self.assertEqual(schemas.schema_fingerprint("string"), 0x8F014872634503C7)

    def test_the_readme_table_is_what_the_schema_files_give(self) -> None:
        section = WIRE_README.split("## Schema versions and fingerprints")[1]
        rows = re.findall(r"^\| `([a-z0-9-]+\.avsc)` \| `[^`]+` \| [^|]+ \| `([0-9a-f]{16})` \| `([0-9a-f ]{23})` \|$", section, re.M)
        self.assertEqual(len(rows), 4)
        for file, integer, header in rows:
            schema = schemas.load(file)
            self.assertEqual(schemas.fingerprint_hex(schema.fingerprint), integer, file)
            self.assertEqual(schemas.fingerprint_bytes(schema.fingerprint).hex(" "), header, file)


class RecordFields(unittest.TestCase):
    def test_every_schema_field_is_listed(self) -> None:
        fields = schema_fields(schemas.load(schemas.USAGE_RECORD).json)
        self.assertEqual(sorted(RECORD_FIELDS), sorted(fields))

    def test_version_1_bytes_resolve_into_the_current_record_but_the_aggregator_refuses_them(self) -> None:
        v1 = schemas.load(schemas.USAGE_RECORD_V1)
        body = io.BytesIO()
        record = {
            "timestamp": {"epoch_seconds": 1_768_075_200, "nanos": 1, "offset_seconds": 0},
            "latency_ms": 5,
            "api_key": "sk-a",
            "model": "m",
            "provider": "",
            "endpoint": "",
            "auth_type": "",
            "auth_id": "",
            "source": "s",
            "auth_index": "1",
            "request_id": None,
            "failed": False,
            "status_code": 200,
            "tokens": {"input": 1, "output": 2, "reasoning": 0, "cached": 0, "total": 0},
        }
        schemaless_writer(body, v1.parsed, record)
        value = v1.header + body.getvalue()
        decoded = decode_record_of(value, schemas.USAGE_RECORD_V1)
        self.assertEqual(decoded["api_key"], "sk-a")
        self.assertIsNone(decoded["node_id"])
        self.assertIsNone(decoded["tokens"]["cache_read"])
        with self.assertRaises(WireError) as refused:
            decode_record(value)
        self.assertEqual(refused.exception.code, "WIRE_UNKNOWN_FINGERPRINT")


class Timestamps(unittest.TestCase):
    def test_rfc3339nano_examples(self) -> None:
        self.assertEqual(rfc3339nano(1_768_046_400, 0, 0), "2026-01-10T12:00:00Z")
        self.assertEqual(rfc3339nano(1_768_046_400, 500_000_000, 0), "2026-01-10T12:00:00.5Z")
        self.assertEqual(rfc3339nano(1_768_046_400, 1, 28_800), "2026-01-10T20:00:00.000000001+08:00")
        self.assertEqual(rfc3339nano(1_768_046_400, 0, -19_800), "2026-01-10T06:30:00-05:30")
        self.assertEqual(rfc3339nano(-62_167_219_200, 0, 0), "0000-01-01T00:00:00Z")

    def test_day_and_hour_in_the_timestamps_own_offset(self) -> None:
        # 2026-01-10T23:30:00-05:00 = 2026-01-11T04:30:00Z
        epoch = 1_768_105_800
        self.assertEqual(rfc3339nano(epoch, 0, 0), "2026-01-11T04:30:00Z")
        self.assertEqual((day_key(epoch, -18_000), hour_key(epoch, -18_000)), ("2026-01-10", "23"))

    def test_a_record_without_timestamp_takes_the_kafka_timestamp_plus_the_offset(self) -> None:
        self.assertEqual(log_timestamp(1_768_046_400_123, 2_000_042), (1_768_046_400, 123_000_042, 0))
        self.assertEqual(log_timestamp(-1, 7), (0, 7, 0))


class Merge(unittest.TestCase):
    def test_the_dedup_key_example(self) -> None:
        store = Statistics()
        store.merge(detail())
        self.assertEqual(store.details[0].dedup_key(), "sk-a|gpt-5|2026-01-10T12:00:00.5Z|alice@example.com|0|false|100|30|0|0|130")

    def test_trimming_blank_names_and_unknown_model(self) -> None:
        store = Statistics()
        self.assertEqual(store.merge(detail(api=" \u3000\u0085")), "ignored")
        self.assertEqual(store.merge(detail(api="\tsk-a\u2029", model=" ")), "added")
        self.assertEqual((store.details[0].api, store.details[0].model), ("sk-a", "unknown"))
        self.assertEqual(go_trim_space("\ufeffx\u200b"), "\ufeffx\u200b")
        self.assertEqual(store.merge(detail(api="sk-a", model="unknown", latency_ms=9, offset_seconds=0)), "skipped")

    def test_negative_totals_clamp_per_detail_in_global_and_buckets_but_not_per_api(self) -> None:
        store = Statistics()
        store.merge(detail(total_tokens=-50))
        store.merge(detail(nanos=1, total_tokens=20))
        self.assertEqual(store.totals(), (2, 2, 0, 20))
        text = store.snapshot_json()
        self.assertIn('"sk-a":{"total_requests":2,"total_tokens":-30,', text)
        self.assertIn('"tokens_by_day":{"2026-01-10":20}', text)

    def test_the_key_text_counts_not_the_fields(self) -> None:
        store = Statistics()
        self.assertEqual(store.merge(detail(api="a|b", model="c")), "added")
        self.assertEqual(store.merge(detail(api="a", model="b|c")), "skipped")

    def test_go_json_strings(self) -> None:
        self.assertEqual(go_string('<a&b>"\\\u2028\u0001\b\f\n\r\té😀'), '"\\u003ca\\u0026b\\u003e\\"\\\\\\u2028\\u0001\\b\\f\\n\\r\\té😀"')

    def test_snapshot_json_shape(self) -> None:
        store = Statistics()
        store.merge(detail(failed=True, latency_ms=7))
        self.assertEqual(
            store.snapshot_json(),
            '{"total_requests":1,"success_count":0,"failure_count":1,"total_tokens":130,"apis":{"sk-a":{"total_requests":1,'
            '"total_tokens":130,"models":{"gpt-5":{"total_requests":1,"total_tokens":130,"details":[{"timestamp":'
            '"2026-01-10T20:00:00.5+08:00","latency_ms":7,"source":"alice@example.com","auth_index":"0","tokens":'
            '{"input_tokens":100,"output_tokens":30,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":130},'
            '"failed":true}]}}}},"requests_by_day":{"2026-01-10":1},"requests_by_hour":{"20":1},'
            '"tokens_by_day":{"2026-01-10":130},"tokens_by_hour":{"20":130}}',
        )


if __name__ == "__main__":
    unittest.main()
