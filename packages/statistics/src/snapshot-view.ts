import { formatDayNumber, formatYear, pad2 } from "./civil-date";
import type { ApiEntry, DetailStore } from "./detail-store";
import { compareUtf8, setOwn } from "./go-text";
import type { ApiSnapshotJson, ModelSnapshotJson, RequestDetailJson, SnapshotOptions, StatisticsSnapshot } from "./snapshot-types";
import { civilFromDays } from "./civil-date";
import { JsonBytes } from "./json-bytes";
import { CACHED, CONTEXT, CRED, EPOCH, INPUT, LATENCY, NANOS, OUTPUT, REASONING, TOTAL } from "./row-chunks";
import { validateTimestamp } from "./timestamp";

/*
 * Reading the store back as the seed's StatisticsSnapshot: a plain object, or Go's exact JSON bytes.
 * Order: API names and model names sorted by UTF-8 bytes (Go sorts map keys when encoding), each
 * model's details in insertion order, day keys ascending, hour keys 00..23.
 */

/** Rows grouped by model group, each group's rows in insertion order (a counting sort). */
interface RowOrder {
  /** rows of group g are rows[start[g] .. start[g + 1]). */
  readonly start: Int32Array;
  readonly rows: Int32Array;
}

function orderRows(store: DetailStore, options: SnapshotOptions): RowOrder {
  const groups = store.groupModel.length;
  const start = new Int32Array(groups + 1);
  if (options.details === false) return { start, rows: new Int32Array(0) };
  const since = options.detailsSince === undefined ? undefined : validateTimestamp(options.detailsSince);
  const count = store.count;
  const groupOfRow = new Int32Array(count);
  let kept = 0;
  for (let row = 0; row < count; row++) {
    if (since !== undefined) {
      const epoch = store.epochOf(row);
      if (epoch < since.epochSeconds || (epoch === since.epochSeconds && store.nanosOf(row) < since.nanos)) {
        groupOfRow[row] = -1;
        continue;
      }
    }
    const group = store.groupOf(row);
    groupOfRow[row] = group;
    start[group + 1]! += 1;
    kept += 1;
  }
  for (let g = 0; g < groups; g++) start[g + 1]! += start[g]!;
  const next = start.slice(0, groups);
  const rows = new Int32Array(kept);
  for (let row = 0; row < count; row++) {
    const group = groupOfRow[row]!;
    if (group >= 0) rows[next[group]!++] = row;
  }
  return { start, rows };
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
/** Three fraction digits with trailing zeros trimmed ("500" -> "5"); index 0 is unused. */
const THREE_DIGITS_TRIMMED = THREE_DIGITS.map((digits) => digits.replace(/0+$/, ""));

/** Go's `.999999999` fraction of `nanos` (trailing zeros trimmed; "" for 0), from digit tables. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const millis = Math.floor(nanos / 1_000_000);
  const rest = nanos - millis * 1_000_000;
  if (rest === 0) return `.${THREE_DIGITS_TRIMMED[millis]!}`;
  const micros = Math.floor(rest / 1000);
  const nanosOnly = rest - micros * 1000;
  if (nanosOnly === 0) return `.${THREE_DIGITS[millis]!}${THREE_DIGITS_TRIMMED[micros]!}`;
  return `.${THREE_DIGITS[millis]!}${THREE_DIGITS[micros]!}${THREE_DIGITS_TRIMMED[nanosOnly]!}`;
}

/**
 * Formats detail timestamps as Go's RFC3339Nano. Details of one model are mostly close in time, so
 * the text up to the minute is cached, as is each offset's text.
 */
class TimestampWriter {
  private lastMinute = Number.NaN;
  private minuteText = "";
  private readonly offsets = new Map<number, string>();

  format(epochSeconds: number, nanos: number, offsetSeconds: number): string {
    const local = epochSeconds + offsetSeconds;
    const minute = Math.floor(local / 60);
    if (minute !== this.lastMinute) {
      const day = Math.floor(local / 86_400);
      const { year, month, day: dayOfMonth } = civilFromDays(day);
      const minuteOfDay = minute - day * 1440;
      this.minuteText =
        `${formatYear(year)}-${TWO_DIGITS[month]!}-${TWO_DIGITS[dayOfMonth]!}T` +
        `${TWO_DIGITS[Math.floor(minuteOfDay / 60)]!}:${TWO_DIGITS[minuteOfDay % 60]!}:`;
      this.lastMinute = minute;
    }
    let offset = this.offsets.get(offsetSeconds);
    if (offset === undefined) {
      if (offsetSeconds === 0) {
        offset = "Z";
      } else {
        const minutes = Math.abs(offsetSeconds / 60);
        offset = `${offsetSeconds < 0 ? "-" : "+"}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
      }
      this.offsets.set(offsetSeconds, offset);
    }
    return `${this.minuteText}${TWO_DIGITS[local - minute * 60]!}${fraction(nanos)}${offset}`;
  }
}

interface ModelView {
  readonly name: string;
  readonly nameId: number;
  readonly group: number;
}

interface ApiView {
  readonly name: string;
  readonly entry: ApiEntry;
  readonly models: ModelView[];
}

/** APIs sorted by name, each with its models (those holding at least one detail) sorted by name. */
function apiViews(store: DetailStore): ApiView[] {
  const strings = store.strings;
  const views: ApiView[] = store.apis.map((entry) => {
    const models: ModelView[] = [];
    for (const [nameId, group] of entry.models) {
      if (store.groupRequests[group]! > 0) models.push({ name: strings.get(nameId), nameId, group });
    }
    models.sort((a, b) => compareUtf8(a.name, b.name));
    return { name: strings.get(entry.nameId), entry, models };
  });
  return views.sort((a, b) => compareUtf8(a.name, b.name));
}

interface Buckets {
  readonly days: { key: string; requests: number; tokens: number }[];
  readonly hours: { key: string; requests: number; tokens: number }[];
}

function buckets(store: DetailStore): Buckets {
  const days = store.dayNumbers
    .map((day, slot) => ({ key: formatDayNumber(day), requests: store.dayRequests[slot]!, tokens: store.dayTokens[slot]! }))
    .sort((a, b) => compareUtf8(a.key, b.key));
  const hours: Buckets["hours"] = [];
  for (let h = 0; h < 24; h++) {
    const requests = store.hourRequests[h]!;
    if (requests > 0) hours.push({ key: pad2(h), requests, tokens: store.hourTokens[h]! });
  }
  return { days, hours };
}

/** The store as the seed's `StatisticsSnapshot`, a plain JSON-ready object. */
export function buildSnapshot(store: DetailStore, options: SnapshotOptions = {}): StatisticsSnapshot {
  const order = orderRows(store, options);
  const writer = new TimestampWriter();
  const strings = store.strings;
  const apis: Record<string, ApiSnapshotJson> = {};
  for (const api of apiViews(store)) {
    const models: Record<string, ModelSnapshotJson> = {};
    for (const model of api.models) {
      const details: RequestDetailJson[] = [];
      for (let i = order.start[model.group]!; i < order.start[model.group + 1]!; i++) {
        const row = order.rows[i]!;
        details.push({
          timestamp: writer.format(store.epochOf(row), store.nanosOf(row), store.offsetOf(row)),
          latency_ms: store.wideOf(row, LATENCY),
          source: strings.get(store.sourceOf(row)),
          auth_index: strings.get(store.authOf(row)),
          tokens: {
            input_tokens: store.wideOf(row, INPUT),
            output_tokens: store.wideOf(row, OUTPUT),
            reasoning_tokens: store.wideOf(row, REASONING),
            cached_tokens: store.wideOf(row, CACHED),
            total_tokens: store.wideOf(row, TOTAL),
          },
          failed: store.failedOf(row),
        });
      }
      setOwn(models, model.name, {
        total_requests: store.groupRequests[model.group]!,
        total_tokens: store.groupTokens[model.group]!,
        details,
      });
    }
    setOwn(apis, api.name, { total_requests: api.entry.totalRequests, total_tokens: api.entry.totalTokens, models });
  }
  const { days, hours } = buckets(store);
  const requestsByDay: Record<string, number> = {};
  const tokensByDay: Record<string, number> = {};
  for (const day of days) {
    requestsByDay[day.key] = day.requests;
    tokensByDay[day.key] = day.tokens;
  }
  const requestsByHour: Record<string, number> = {};
  const tokensByHour: Record<string, number> = {};
  for (const h of hours) {
    requestsByHour[h.key] = h.requests;
    tokensByHour[h.key] = h.tokens;
  }
  return {
    total_requests: store.totalRequests,
    success_count: store.successCount,
    failure_count: store.failureCount,
    total_tokens: store.totalTokens,
    apis,
    requests_by_day: requestsByDay,
    requests_by_hour: requestsByHour,
    tokens_by_day: tokensByDay,
    tokens_by_hour: tokensByHour,
  };
}

/** The bytes of an ASCII text. */
function ascii(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
const FIRST_DETAIL = ascii('{"timestamp":"');
const NEXT_DETAIL = ascii(',{"timestamp":"');
const LATENCY_MS = ascii('","latency_ms":');
const SOURCE = ascii(',"source":');
const AUTH_INDEX = ascii(',"auth_index":');
const INPUT_TOKENS = ascii(',"tokens":{"input_tokens":');
const OUTPUT_TOKENS = ascii(',"output_tokens":');
const REASONING_TOKENS = ascii(',"reasoning_tokens":');
const CACHED_TOKENS = ascii(',"cached_tokens":');
const TOTAL_TOKENS = ascii(',"total_tokens":');
const FAILED_TRUE = ascii('},"failed":true}');
const FAILED_FALSE = ascii('},"failed":false}');

/** Writes detail timestamps as Go's RFC3339Nano bytes, caching the date text of the last day and each offset. */
class TimestampBytes {
  private lastDay = Number.NaN;
  private dayBytes: Uint8Array = new Uint8Array(0);
  private readonly offsets = new Map<number, Uint8Array>();

  write(out: JsonBytes, epochSeconds: number, nanos: number, offsetSeconds: number): void {
    const local = epochSeconds + offsetSeconds;
    const day = Math.floor(local / 86_400);
    if (day !== this.lastDay) {
      const { year, month, day: dayOfMonth } = civilFromDays(day);
      this.dayBytes = ascii(`${formatYear(year)}-${TWO_DIGITS[month]!}-${TWO_DIGITS[dayOfMonth]!}T`);
      this.lastDay = day;
    }
    const second = local - day * 86_400;
    const minute = (second / 60) | 0;
    out.bytes(this.dayBytes);
    out.twoDigits((minute / 60) | 0);
    out.ascii(":");
    out.twoDigits(minute % 60);
    out.ascii(":");
    out.twoDigits(second - minute * 60);
    out.fraction(nanos);
    let offset = this.offsets.get(offsetSeconds);
    if (offset === undefined) {
      let text = "Z";
      if (offsetSeconds !== 0) {
        const minutes = Math.abs(offsetSeconds / 60);
        text = `${offsetSeconds < 0 ? "-" : "+"}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
      }
      offset = ascii(text);
      this.offsets.set(offsetSeconds, offset);
    }
    out.bytes(offset);
  }
}

/**
 * Writes the store as the exact bytes Go's `json.Marshal(StatisticsSnapshot)` produces (with each
 * detail's `latency_ms`), in chunks of about 64 KiB, to `write`.
 */
export function writeSnapshotJson(store: DetailStore, write: (chunk: string) => void, options: SnapshotOptions = {}): void {
  for (const chunk of snapshotJsonChunks(store, options)) write(chunk);
}

/**
 * {@link writeSnapshotJson} as a lazy sequence of chunks of about 64 KiB. Everything the JSON says
 * is fixed when the first chunk is asked for (the rows, every counter, the buckets), and rows never
 * change once stored, so records added while the chunks are drawn do not show: the whole sequence is
 * the store as it was then.
 */
export function* snapshotJsonChunks(store: DetailStore, options: SnapshotOptions = {}): Generator<string, void, undefined> {
  const order = orderRows(store, options);
  const views = apiViews(store);
  const apiTotals = views.map((api) => `:{"total_requests":${api.entry.totalRequests},"total_tokens":${api.entry.totalTokens},"models":{`);
  const groupRequests = store.groupRequests.slice();
  const groupTokens = store.groupTokens.slice();
  const { days, hours } = buckets(store);
  const timestamps = new TimestampBytes();
  const strings = store.strings;
  const rows = store.rows;
  const pending: string[] = [];
  const out = new JsonBytes((chunk) => pending.push(chunk));
  out.ascii(
    `{"total_requests":${store.totalRequests},"success_count":${store.successCount},"failure_count":${store.failureCount},"total_tokens":${store.totalTokens},"apis":{`,
  );
  let firstApi = true;
  for (const [index, api] of views.entries()) {
    if (!firstApi) out.ascii(",");
    firstApi = false;
    out.bytes(strings.jsonBytesOf(api.entry.nameId));
    out.ascii(apiTotals[index]!);
    let firstModel = true;
    for (const model of api.models) {
      if (!firstModel) out.ascii(",");
      firstModel = false;
      out.bytes(strings.jsonBytesOf(model.nameId));
      out.ascii(`:{"total_requests":${groupRequests[model.group]!},"total_tokens":${groupTokens[model.group]!},"details":[`);
      const begin = order.start[model.group]!;
      const end = order.start[model.group + 1]!;
      for (let i = begin; i < end; i++) {
        const row = order.rows[i]!;
        const chunk = rows.chunkOf(row);
        const base = rows.baseOf(row);
        const context = chunk[base + CONTEXT]!;
        const cred = chunk[base + CRED]!;
        const offsetAndFailed = store.contexts.second[context]!;
        out.bytes(i === begin ? FIRST_DETAIL : NEXT_DETAIL);
        timestamps.write(out, rows.wideAt(chunk, base + EPOCH, row, EPOCH) + store.epochBase, chunk[base + NANOS]!, offsetAndFailed >> 1);
        out.bytes(LATENCY_MS);
        out.int(rows.wideAt(chunk, base + LATENCY, row, LATENCY));
        out.bytes(SOURCE);
        out.bytes(strings.jsonBytesOf(store.creds.first[cred]!));
        out.bytes(AUTH_INDEX);
        out.bytes(strings.jsonBytesOf(store.creds.second[cred]!));
        out.bytes(INPUT_TOKENS);
        out.int(rows.wideAt(chunk, base + INPUT, row, INPUT));
        out.bytes(OUTPUT_TOKENS);
        out.int(rows.wideAt(chunk, base + OUTPUT, row, OUTPUT));
        out.bytes(REASONING_TOKENS);
        out.int(rows.wideAt(chunk, base + REASONING, row, REASONING));
        out.bytes(CACHED_TOKENS);
        out.int(rows.wideAt(chunk, base + CACHED, row, CACHED));
        out.bytes(TOTAL_TOKENS);
        out.int(rows.wideAt(chunk, base + TOTAL, row, TOTAL));
        out.bytes((offsetAndFailed & 1) === 1 ? FAILED_TRUE : FAILED_FALSE);
        out.maybeFlush();
        if (pending.length > 0) yield* pending.splice(0);
      }
      out.ascii("]}");
    }
    out.ascii("}}");
    if (pending.length > 0) yield* pending.splice(0);
  }
  const map = (entries: readonly { key: string }[], value: (index: number) => number): string =>
    `{${entries.map((entry, index) => `"${entry.key}":${value(index)}`).join(",")}}`;
  out.ascii(`},"requests_by_day":${map(days, (i) => days[i]!.requests)}`);
  out.ascii(`,"requests_by_hour":${map(hours, (i) => hours[i]!.requests)}`);
  out.ascii(`,"tokens_by_day":${map(days, (i) => days[i]!.tokens)}`);
  out.ascii(`,"tokens_by_hour":${map(hours, (i) => hours[i]!.tokens)}}`);
  out.flush();
  yield* pending.splice(0);
}
