"""The statistics store and the seed's merge rules.

packages/snapshots/README.md, "How to merge", "The fleet" and "Statistics snapshot JSON".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from .gojson import go_string
from .timestamps import day_key, hour_key, is_zero_time, rfc3339nano, utc_rfc3339nano

# Go's unicode.IsSpace: what strings.TrimSpace removes from both ends.
_GO_SPACE = "".join(
    chr(code)
    for code in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)


def go_trim_space(value: str) -> str:
    """Go's ``strings.TrimSpace``."""
    return value.strip(_GO_SPACE)


def fill_total(input_tokens: int, output_tokens: int, reasoning: int, cached: int, total: int) -> int:
    """The total tokens fill rule: 0 -> input+output+reasoning; still 0 -> ... + cached."""
    if total != 0:
        return total
    without_cached = input_tokens + output_tokens + reasoning
    return without_cached if without_cached != 0 else without_cached + cached


@dataclass(frozen=True)
class Detail:
    """One request detail. Incoming ones are raw (names untrimmed, a total maybe 0, maybe Go's zero
    time); stored ones are as merged (names trimmed, model never blank, total filled in)."""

    api: str
    model: str
    epoch_seconds: int
    nanos: int
    offset_seconds: int
    latency_ms: int
    source: str
    auth_index: str
    failed: bool
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    total_tokens: int

    def dedup_key(self) -> str:
        """The seed's dedup key text (of a detail as merged)."""
        return "|".join(
            [
                self.api,
                self.model,
                utc_rfc3339nano(self.epoch_seconds, self.nanos),
                self.source,
                self.auth_index,
                "true" if self.failed else "false",
                str(self.input_tokens),
                str(self.output_tokens),
                str(self.reasoning_tokens),
                str(self.cached_tokens),
                str(self.total_tokens),
            ]
        )


def utc_now() -> tuple[int, int, int]:
    """The current time in UTC, for a detail that carries Go's zero time."""
    now = time.time_ns()
    return now // 1_000_000_000, now % 1_000_000_000, 0


class _Counter:
    __slots__ = ("requests", "tokens")

    def __init__(self) -> None:
        self.requests = 0
        self.tokens = 0


class _Model(_Counter):
    __slots__ = ("details",)

    def __init__(self) -> None:
        super().__init__()
        self.details: list[Detail] = []


class _Api(_Counter):
    __slots__ = ("models",)

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, _Model] = {}


class Statistics:
    """A store: details per (API, model) in the order they were added, and the seed's counters."""

    def __init__(self, now: Callable[[], tuple[int, int, int]] = utc_now) -> None:
        self._now = now
        self.details: list[Detail] = []
        self._keys: set[str] = set()
        self._apis: dict[str, _Api] = {}
        self._days: dict[str, _Counter] = {}
        self._hours: dict[str, _Counter] = {}
        self.total_requests = 0
        self.success_count = 0
        self.failure_count = 0
        self.total_tokens = 0

    @property
    def detail_count(self) -> int:
        return len(self.details)

    def totals(self) -> tuple[int, int, int, int]:
        """(total_requests, success_count, failure_count, total_tokens)."""
        return self.total_requests, self.success_count, self.failure_count, self.total_tokens

    def merge(self, incoming: Detail) -> str:
        """Merges one detail: ``added``, ``skipped`` (its dedup key is stored) or ``ignored`` (blank API)."""
        api = go_trim_space(incoming.api)
        if api == "":
            return "ignored"
        epoch_seconds, nanos, offset_seconds = incoming.epoch_seconds, incoming.nanos, incoming.offset_seconds
        if is_zero_time(epoch_seconds, nanos):
            epoch_seconds, nanos, offset_seconds = self._now()
        detail = replace(
            incoming,
            api=api,
            model=go_trim_space(incoming.model) or "unknown",
            epoch_seconds=epoch_seconds,
            nanos=nanos,
            offset_seconds=offset_seconds,
            total_tokens=fill_total(
                incoming.input_tokens, incoming.output_tokens, incoming.reasoning_tokens, incoming.cached_tokens, incoming.total_tokens
            ),
        )
        key = detail.dedup_key()
        if key in self._keys:
            return "skipped"
        self._keys.add(key)
        self._add(detail)
        return "added"

    def merge_all(self, details: Iterable[Detail]) -> tuple[int, int]:
        """Merges details in order; (added, skipped)."""
        added = skipped = 0
        for detail in details:
            result = self.merge(detail)
            if result == "added":
                added += 1
            elif result == "skipped":
                skipped += 1
        return added, skipped

    def _add(self, detail: Detail) -> None:
        self.details.append(detail)
        counted = max(detail.total_tokens, 0)
        self.total_requests += 1
        if detail.failed:
            self.failure_count += 1
        else:
            self.success_count += 1
        self.total_tokens += counted
        for buckets, key in (
            (self._days, day_key(detail.epoch_seconds, detail.offset_seconds)),
            (self._hours, hour_key(detail.epoch_seconds, detail.offset_seconds)),
        ):
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = _Counter()
            bucket.requests += 1
            bucket.tokens += counted
        api = self._apis.get(detail.api)
        if api is None:
            api = self._apis[detail.api] = _Api()
        api.requests += 1
        api.tokens += detail.total_tokens
        model = api.models.get(detail.model)
        if model is None:
            model = api.models[detail.model] = _Model()
        model.requests += 1
        model.tokens += detail.total_tokens
        model.details.append(detail)

    def snapshot_json(self) -> str:
        """The statistics snapshot JSON, byte for byte as Go's ``json.Marshal`` writes it."""
        out = [
            f'{{"total_requests":{self.total_requests},"success_count":{self.success_count},'
            f'"failure_count":{self.failure_count},"total_tokens":{self.total_tokens},"apis":{{'
        ]
        for api_index, api_name in enumerate(_sorted(self._apis)):
            api = self._apis[api_name]
            out.append(("," if api_index else "") + go_string(api_name))
            out.append(f':{{"total_requests":{api.requests},"total_tokens":{api.tokens},"models":{{')
            for model_index, model_name in enumerate(_sorted(api.models)):
                model = api.models[model_name]
                out.append(("," if model_index else "") + go_string(model_name))
                out.append(f':{{"total_requests":{model.requests},"total_tokens":{model.tokens},"details":[')
                out.append(",".join(_detail_json(detail) for detail in model.details))
                out.append("]}")
            out.append("}}")
        out.append("}")
        out.append(',"requests_by_day":' + _bucket_json(self._days, "requests"))
        out.append(',"requests_by_hour":' + _bucket_json(self._hours, "requests"))
        out.append(',"tokens_by_day":' + _bucket_json(self._days, "tokens"))
        out.append(',"tokens_by_hour":' + _bucket_json(self._hours, "tokens"))
        out.append("}")
        return "".join(out)


def _sorted(names: Iterable[str]) -> list[str]:
    """Map keys in Go's order: by UTF-8 bytes."""
    return sorted(names, key=lambda name: name.encode("utf-8", "surrogatepass"))


def _detail_json(detail: Detail) -> str:
    return (
        f'{{"timestamp":"{rfc3339nano(detail.epoch_seconds, detail.nanos, detail.offset_seconds)}",'
        f'"latency_ms":{detail.latency_ms},"source":{go_string(detail.source)},'
        f'"auth_index":{go_string(detail.auth_index)},"tokens":{{"input_tokens":{detail.input_tokens},'
        f'"output_tokens":{detail.output_tokens},"reasoning_tokens":{detail.reasoning_tokens},'
        f'"cached_tokens":{detail.cached_tokens},"total_tokens":{detail.total_tokens}}},'
        f'"failed":{"true" if detail.failed else "false"}}}'
    )


def _bucket_json(buckets: dict[str, _Counter], field: str) -> str:
    return "{" + ",".join(f'"{key}":{getattr(buckets[key], field)}' for key in sorted(buckets)) + "}"
