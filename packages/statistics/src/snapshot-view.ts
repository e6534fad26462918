import { formatDayNumber, formatYear, pad2 } from "./civil-date";
import type { ApiEntry, DetailStore } from "./detail-store";
import { compareUtf8, setOwn } from "./go-text";
import type {
  ApiSnapshotJson,
  ModelSnapshotJson,
  RequestDetailJson,
  SnapshotOptions,
  StatisticsSnapshot,
} from "./snapshot-types";
import { civilFromDays } from "./civil-date";
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
  const { rowContext, contextGroup, nanos } = store;
  let kept = 0;
  for (let row = 0; row < count; row++) {
    if (since !== undefined) {
      const epoch = store.epochOf(row);
      if (epoch < since.epochSeconds || (epoch === since.epochSeconds && nanos[row]! < since.nanos)) {
        groupOfRow[row] = -1;
        continue;
      }
    }
    const group = contextGroup[rowContext[row]!]!;
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

/** Formats detail timestamps as Go's RFC3339Nano, caching the date part and the offset text. */
class TimestampWriter {
  private lastDay = Number.NaN;
  private dayText = "";
  private readonly offsets = new Map<number, string>();

  format(epochSeconds: number, nanos: number, offsetSeconds: number): string {
    const local = epochSeconds + offsetSeconds;
    const day = Math.floor(local / 86_400);
    if (day !== this.lastDay) {
      const { year, month, day: dayOfMonth } = civilFromDays(day);
      this.dayText = `${formatYear(year)}-${pad2(month)}-${pad2(dayOfMonth)}T`;
      this.lastDay = day;
    }
    const second = local - day * 86_400;
    let text = `${this.dayText}${pad2(Math.floor(second / 3600))}:${pad2(Math.floor((second % 3600) / 60))}:${pad2(second % 60)}`;
    if (nanos !== 0) {
      let fraction = String(nanos).padStart(9, "0");
      let end = 9;
      while (fraction.charCodeAt(end - 1) === 48) end--;
      if (end < 9) fraction = fraction.slice(0, end);
      text += `.${fraction}`;
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
    return text + offset;
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
  const { rowContext, contextSource, contextAuth, contextOffset, contextFailed, nanos } = store;
  const apis: Record<string, ApiSnapshotJson> = {};
  for (const api of apiViews(store)) {
    const models: Record<string, ModelSnapshotJson> = {};
    for (const model of api.models) {
      const details: RequestDetailJson[] = [];
      for (let i = order.start[model.group]!; i < order.start[model.group + 1]!; i++) {
        const row = order.rows[i]!;
        const context = rowContext[row]!;
        details.push({
          timestamp: writer.format(store.epochOf(row), nanos[row]!, contextOffset[context]!),
          latency_ms: store.latency.get(row),
          source: strings.get(contextSource[context]!),
          auth_index: strings.get(contextAuth[context]!),
          tokens: {
            input_tokens: store.input.get(row),
            output_tokens: store.output.get(row),
            reasoning_tokens: store.reasoning.get(row),
            cached_tokens: store.cached.get(row),
            total_tokens: store.total.get(row),
          },
          failed: contextFailed[context] === 1,
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

/** Chunks of about this many UTF-16 units are handed to the writer. */
const CHUNK = 1 << 16;

/**
 * Writes the store as the exact bytes Go's `json.Marshal(StatisticsSnapshot)` produces (with each
 * detail's `latency_ms`), in chunks of about 64 KiB, to `write`.
 */
export function writeSnapshotJson(store: DetailStore, write: (chunk: string) => void, options: SnapshotOptions = {}): void {
  const order = orderRows(store, options);
  const writer = new TimestampWriter();
  const strings = store.strings;
  const { rowContext, contextSource, contextAuth, contextOffset, contextFailed, nanos } = store;
  let out = `{"total_requests":${store.totalRequests},"success_count":${store.successCount},"failure_count":${store.failureCount},"total_tokens":${store.totalTokens},"apis":{`;
  let firstApi = true;
  for (const api of apiViews(store)) {
    out += `${firstApi ? "" : ","}${strings.jsonOf(api.entry.nameId)}:{"total_requests":${api.entry.totalRequests},"total_tokens":${api.entry.totalTokens},"models":{`;
    firstApi = false;
    let firstModel = true;
    for (const model of api.models) {
      out += `${firstModel ? "" : ","}${strings.jsonOf(model.nameId)}:{"total_requests":${store.groupRequests[model.group]!},"total_tokens":${store.groupTokens[model.group]!},"details":[`;
      firstModel = false;
      const end = order.start[model.group + 1]!;
      for (let i = order.start[model.group]!; i < end; i++) {
        const row = order.rows[i]!;
        const context = rowContext[row]!;
        out +=
          `${i === order.start[model.group] ? "" : ","}{"timestamp":"${writer.format(store.epochOf(row), nanos[row]!, contextOffset[context]!)}"` +
          `,"latency_ms":${store.latency.get(row)},"source":${strings.jsonOf(contextSource[context]!)},"auth_index":${strings.jsonOf(contextAuth[context]!)}` +
          `,"tokens":{"input_tokens":${store.input.get(row)},"output_tokens":${store.output.get(row)},"reasoning_tokens":${store.reasoning.get(row)}` +
          `,"cached_tokens":${store.cached.get(row)},"total_tokens":${store.total.get(row)}},"failed":${contextFailed[context] === 1}}`;
        if (out.length >= CHUNK) {
          write(out);
          out = "";
        }
      }
      out += "]}";
    }
    out += "}}";
  }
  const { days, hours } = buckets(store);
  const map = (entries: readonly { key: string }[], value: (index: number) => number): string =>
    `{${entries.map((entry, index) => `"${entry.key}":${value(index)}`).join(",")}}`;
  out += `},"requests_by_day":${map(days, (i) => days[i]!.requests)}`;
  out += `,"requests_by_hour":${map(hours, (i) => hours[i]!.requests)}`;
  out += `,"tokens_by_day":${map(days, (i) => days[i]!.tokens)}`;
  out += `,"tokens_by_hour":${map(hours, (i) => hours[i]!.tokens)}}`;
  write(out);
}
