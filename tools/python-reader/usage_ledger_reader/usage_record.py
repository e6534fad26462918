"""Usage records on ``usage.records``: decoding, the wire's validation, and the record -> detail rule.

packages/wire/README.md: "Validation", "Applying usage.records" and the "Record fields" table.
"""

from __future__ import annotations

from typing import Any

from . import schemas
from .single_object import WireError, decode
from .statistics import Detail, fill_total
from .timestamps import is_zero_time, timestamp_problem

# Every field of schemas/usage-record.avsc (nested ones by path) and what the statistics make of it
# ("not counted": carried on the wire only). A new schema field fails this package's tests until
# it is listed here (packages/wire/README.md, "Adding a record field: the checklist").
RECORD_FIELDS: dict[str, str] = {
    "timestamp": "detail timestamp (null or Go's zero time: the Kafka timestamp plus the offset)",
    "latency_ms": "latency_ms",
    "ttft_ms": "not counted",
    "api_key": "api (the statistics key)",
    "model": "model",
    "alias": "not counted",
    "provider": "api when api_key and endpoint are empty",
    "executor_type": "not counted",
    "endpoint": "api when api_key is empty",
    "auth_type": "not counted",
    "auth_id": "not counted",
    "source": "source",
    "auth_index": "auth_index",
    "request_id": "not counted",
    "failed": "failed",
    "status_code": "failed when 400 or more",
    "tokens.input": "input_tokens",
    "tokens.output": "output_tokens",
    "tokens.reasoning": "reasoning_tokens",
    "tokens.cached": "cached_tokens",
    "tokens.total": "total_tokens (0 filled in)",
    "tokens.cache_read": "not counted",
    "tokens.cache_creation": "not counted",
    "generate": "not counted",
    "reasoning_effort": "not counted",
    "service_tier": "not counted",
    "response_service_tier": "not counted",
    "node_id": "not counted",
}

MAX_WIRE_INTEGER = 2**53 - 2
MAX_SAFE_INTEGER = 2**53 - 1
MAX_STATUS_CODE = 999

# Size limits in UTF-8 bytes: endpoint 8192, every other string 4096.
_STRING_LIMITS = {"endpoint": 8192}
_STRING_FIELDS = [
    "api_key",
    "model",
    "provider",
    "endpoint",
    "auth_type",
    "auth_id",
    "source",
    "auth_index",
    "alias",
    "executor_type",
    "request_id",
    "reasoning_effort",
    "service_tier",
    "response_service_tier",
    "node_id",
]


def decode_record(value: bytes) -> dict[str, Any]:
    """Decodes and validates a usage record of the current schema, the only version the aggregator accepts."""
    record = decode(value, schemas.load(schemas.USAGE_RECORD))
    validate(record)
    return record


def decode_record_of(value: bytes, writer_file: str) -> dict[str, Any]:
    """A record written with another version (e.g. ``usage-record-v1.avsc``), resolved into the current one."""
    record = decode(value, schemas.load(writer_file), schemas.load(schemas.USAGE_RECORD))
    validate(record)
    return record


def _count(value: Any, name: str, code: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or value > MAX_WIRE_INTEGER or value < -(2**52):
        raise WireError("WIRE_UNSAFE_INTEGER", f"{name}: {value!r}")
    if value < 0:
        raise WireError(code, f"{name}: negative {value}")


def validate(record: dict[str, Any]) -> None:
    """The wire's rules for a usage record (raises WireError)."""
    timestamp = record.get("timestamp")
    if timestamp is not None:
        problem = timestamp_problem(timestamp["epoch_seconds"], timestamp["nanos"], timestamp["offset_seconds"])
        if problem is not None:
            raise WireError("WIRE_TIMESTAMP_OUT_OF_RANGE", f"timestamp: {problem}")
    for name in _STRING_FIELDS:
        text = record.get(name)
        if text is None:
            continue
        limit = _STRING_LIMITS.get(name, 4096)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise WireError("WIRE_STRING_TOO_LONG", f"{name}: {size} UTF-8 bytes, the limit is {limit}")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            raise WireError("WIRE_INVALID_FIELD", f"{name}: a lone surrogate")
    status = record["status_code"]
    if not 0 <= status <= MAX_STATUS_CODE:
        raise WireError("WIRE_INVALID_FIELD", f"status_code: {status}")
    _count(record["latency_ms"], "latency_ms", "WIRE_INVALID_FIELD")
    _count(record.get("ttft_ms"), "ttft_ms", "WIRE_INVALID_FIELD")
    tokens = record["tokens"]
    for name in ("input", "output", "reasoning", "cached", "total", "cache_read", "cache_creation"):
        _count(tokens.get(name), f"tokens.{name}", "WIRE_NEGATIVE_TOKENS")


def statistics_key(record: dict[str, Any]) -> str:
    """api_key; when empty, endpoint; when empty, provider; when empty, ``unknown`` (not trimmed)."""
    for name in ("api_key", "endpoint", "provider"):
        if record[name] != "":
            return record[name]
    return "unknown"


def log_timestamp(kafka_timestamp_ms: int, offset: int) -> tuple[int, int, int]:
    """The timestamp of a record without one: the Kafka timestamp plus the offset, in UTC."""
    ms = kafka_timestamp_ms if kafka_timestamp_ms >= 0 else 0
    return ms // 1000, (ms % 1000) * 1_000_000 + offset % 1_000_000, 0


def to_detail(record: dict[str, Any], kafka_timestamp_ms: int, offset: int) -> Detail:
    """The one detail a record stands for (raises WireError when its filled-in total is not safe)."""
    timestamp = record["timestamp"]
    if timestamp is None or is_zero_time(timestamp["epoch_seconds"], timestamp["nanos"]):
        epoch_seconds, nanos, offset_seconds = log_timestamp(kafka_timestamp_ms, offset)
    else:
        epoch_seconds, nanos, offset_seconds = timestamp["epoch_seconds"], timestamp["nanos"], timestamp["offset_seconds"]
    tokens = record["tokens"]
    total = fill_total(tokens["input"], tokens["output"], tokens["reasoning"], tokens["cached"], tokens["total"])
    if abs(total) > MAX_SAFE_INTEGER:
        raise WireError("STATS_INVALID_RECORD", f"the filled-in total {total} is not a safe integer")
    return Detail(
        api=statistics_key(record),
        model=record["model"],
        epoch_seconds=epoch_seconds,
        nanos=nanos,
        offset_seconds=offset_seconds,
        latency_ms=record["latency_ms"],
        source=record["source"],
        auth_index=record["auth_index"],
        failed=record["failed"] or record["status_code"] >= 400,
        input_tokens=tokens["input"],
        output_tokens=tokens["output"],
        reasoning_tokens=tokens["reasoning"],
        cached_tokens=tokens["cached"],
        total_tokens=tokens["total"],
    )
