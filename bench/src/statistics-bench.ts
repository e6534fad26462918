import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type ParsedSnapshot, parseStatisticsSnapshot, RequestStatistics, type UsageRecord } from "@usage-ledger/statistics";
import { measured, seededRandom, type Measured, type ResultRow, writeResults } from "./harness";

/**
 * `pnpm bench:statistics`: the RequestStatistics core at one million details (fixed sizes, fixed
 * seed). Every figure is the median of several runs with min and max. Writes
 * bench/results/statistics.json.
 *
 * - apply_records_per_s: `apply` into a fresh store of 1,000,000 distinct records interleaved with
 *   100,000 re-deliveries (dedup included: every call probes the index); rate over all 1,100,000 calls.
 *   Records are made (untimed) in batches of 1,000, just before they are applied, and dropped after
 *   use, as an aggregator decodes a fetched batch and applies it: the records are fresh in the cache
 *   and the heap holds the store and one batch, not a million record objects.
 *   apply_batch_records_per_s: the same deliveries through `applyBatch`, one call per batch.
 * - merge_1m_into_1m_ms: `mergeSnapshot` of a parsed 1,000,000-detail snapshot (half of it already in
 *   the store, half new) into a store holding 1,000,000 details.
 * - snapshot_1m_ms: `snapshot()` (the plain JSON-ready object) of a 1,000,000-detail store;
 *   snapshot_json_1m_ms: `snapshotJson()` (Go's exact bytes) of the same.
 * - bytes_per_detail: resident bytes per detail of a 1,000,000-detail store built by `apply`, dedup
 *   index included: (heapUsed + external) after minus before, both after `gc()`, in a child process.
 * The whole bench re-runs itself under `node --expose-gc` so that every measurement starts after a
 * full collection. The machine is shared: next to each wall-clock figure, `*_cpu` gives the same
 * figure from the process's CPU time (`process.cpuUsage()`, GC threads included), which contention
 * from other processes does not inflate.
 */

const DETAILS = 1_000_000;
const REDELIVERIES = 100_000;
const RUNS = 5;
const MEMORY_RUNS = 3;

/**
 * A fleet-like stream of distinct records: 200 API keys, 8 models, 40 upstream accounts, 5 offsets,
 * strictly increasing nanosecond timestamps (about 12 records a second over a day), realistic tokens.
 */
function recordStream(seed: number): () => UsageRecord {
  const random = seededRandom(seed);
  const int = (max: number): number => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const models = [
    "gpt-5",
    "gpt-5-mini",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "qwen3-coder",
    "glm-4.6",
  ];
  const offsets = [0, 28_800, -18_000, 19_800, 3_600];
  const apiKeys = Array.from({ length: 200 }, (_, i) => `sk-client-${String(i).padStart(4, "0")}-${(i * 2_654_435_761).toString(36)}`);
  const sources = Array.from({ length: 40 }, (_, i) => `account${String(i)}@example.com`);
  const authIndexes = Array.from({ length: 16 }, (_, i) => String(i));
  let epochSeconds = 1_768_003_200;
  let nanos = 0;
  return () => {
    nanos += 1 + int(160_000_000);
    if (nanos >= 1_000_000_000) {
      epochSeconds += Math.floor(nanos / 1_000_000_000);
      nanos %= 1_000_000_000;
    }
    const input = int(20_000);
    const output = int(4_000);
    const reasoning = random() < 0.3 ? int(2_000) : 0;
    const cached = random() < 0.4 ? int(input) : 0;
    const status = random() < 0.05 ? pick([400, 429, 500, 503]) : 200;
    return {
      timestamp: { epochSeconds, nanos, offsetSeconds: pick(offsets) },
      apiKey: pick(apiKeys),
      model: pick(models),
      provider: "openai",
      endpoint: "POST /v1/chat/completions",
      source: pick(sources),
      authIndex: pick(authIndexes),
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: status,
      latencyMs: 80 + int(30_000),
      tokens: { inputTokens: input, outputTokens: output, reasoningTokens: reasoning, cachedTokens: cached, totalTokens: 0 },
    };
  };
}

const BATCH = 1_000;

/**
 * The deliveries of `records` distinct records in batches of 1,100: 1,000 new records and 100
 * re-deliveries of records seen up to 5,000 records earlier (earlier batches included), interleaved.
 */
function* deliveryBatches(records: number, seed: number): Generator<UsageRecord[]> {
  const next = recordStream(seed);
  const random = seededRandom(seed + 1);
  const recent: UsageRecord[] = [];
  let made = 0;
  while (made < records) {
    const batch: UsageRecord[] = [];
    for (let i = 0; i < BATCH; i++, made++) {
      const record = next();
      batch.push(record);
      recent[made % 5000] = record;
      if (i % 10 === 9) batch.push(recent[Math.floor(random() * recent.length)]!);
    }
    yield batch;
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function cpuMillis(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** A stopwatch over wall-clock and process CPU time. */
class Stopwatch {
  wallMs = 0;
  cpuMs = 0;
  private wallStart = 0;
  private cpuStart = 0;

  start(): void {
    this.wallStart = performance.now();
    this.cpuStart = cpuMillis();
  }

  stop(): void {
    this.wallMs += performance.now() - this.wallStart;
    this.cpuMs += cpuMillis() - this.cpuStart;
  }
}

/** Runs `body` (after `warmups` unmeasured runs) `times` times; wall and CPU figures of each run. */
function runs(times: number, body: () => { wall: number; cpu: number }, warmups = 0): { wall: Measured; cpu: Measured } {
  for (let i = 0; i < warmups; i++) body();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < times; i++) {
    const result = body();
    wall.push(result.wall);
    cpu.push(result.cpu);
  }
  return { wall: measured(wall), cpu: measured(cpu) };
}

/**
 * Applies every delivery of DETAILS records to a new store, one `apply` per record or one
 * `applyBatch` per fetched batch, timing those calls only.
 */
function timedApply(batched = false): { statistics: RequestStatistics; watch: Stopwatch; calls: number } {
  const statistics = new RequestStatistics();
  const watch = new Stopwatch();
  let calls = 0;
  for (const batch of deliveryBatches(DETAILS, 1)) {
    watch.start();
    if (batched) statistics.applyBatch(batch);
    else for (const record of batch) statistics.apply(record);
    watch.stop();
    calls += batch.length;
  }
  return { statistics, watch, calls };
}

/** Child-process mode: prints the resident bytes per detail of a 1M-detail store. */
function measureMemory(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error("run with --expose-gc");
  const next = recordStream(1);
  collect();
  collect();
  const before = process.memoryUsage();
  const statistics = new RequestStatistics();
  for (let i = 0; i < DETAILS; i++) statistics.apply(next());
  collect();
  collect();
  const after = process.memoryUsage();
  const resident = after.heapUsed + after.external - (before.heapUsed + before.external);
  const stats = statistics.storageStats();
  console.log(
    JSON.stringify({
      bytesPerDetail: resident / stats.details,
      typedArrayBytesPerDetail: stats.typedArrayBytes / stats.details,
      rssBytesPerDetail: (after.rss - before.rss) / stats.details,
      details: stats.details,
    }),
  );
}

/** Times one call of `body` (after a full collection). */
function timed(body: () => void): { wall: number; cpu: number } {
  gc();
  const watch = new Stopwatch();
  watch.start();
  body();
  watch.stop();
  return { wall: watch.wallMs, cpu: watch.cpuMs };
}

function main(): void {
  const load = loadavg();
  console.log(`statistics bench: ${DETAILS} details, load average ${load.map((l) => l.toFixed(2)).join(" ")}`);

  let deliveries = 0;
  const apply = runs(
    RUNS,
    () => {
      gc();
      const { statistics, watch, calls } = timedApply();
      if (statistics.detailCount !== DETAILS || calls !== DETAILS + REDELIVERIES) throw new Error("unexpected apply result");
      deliveries = calls;
      return { wall: calls / (watch.wallMs / 1000), cpu: calls / (watch.cpuMs / 1000) };
    },
    1,
  );

  const applyBatch = runs(
    RUNS,
    () => {
      gc();
      const { statistics, watch, calls } = timedApply(true);
      if (statistics.detailCount !== DETAILS || calls !== DETAILS + REDELIVERIES) throw new Error("unexpected applyBatch result");
      return { wall: calls / (watch.wallMs / 1000), cpu: calls / (watch.cpuMs / 1000) };
    },
    1,
  );

  // The store of the 1,000,000 applied records, kept as columns to rebuild it for every merge run.
  const full = timedApply().statistics;
  const stored = full.exportDetails();
  // The incoming snapshot: the second half of the stored details plus as many new ones, parsed.
  const incoming: ParsedSnapshot = (() => {
    const half = new RequestStatistics();
    half.mergeDetails(full.exportDetails(DETAILS / 2, DETAILS));
    const next = recordStream(2);
    for (let i = 0; i < DETAILS / 2; i++) {
      const record = next();
      half.apply({ ...record, apiKey: `${record.apiKey}-new` });
    }
    return parseStatisticsSnapshot(half.snapshot());
  })();
  const merge = runs(RUNS, () => {
    const statistics = new RequestStatistics();
    statistics.mergeDetails(stored);
    let result = { added: 0, skipped: 0 };
    const time = timed(() => {
      result = statistics.mergeSnapshot(incoming);
    });
    if (result.added !== DETAILS / 2 || result.skipped !== DETAILS / 2)
      throw new Error(`unexpected merge result ${JSON.stringify(result)}`);
    return time;
  });

  const snapshot = runs(RUNS, () =>
    timed(() => {
      if (full.snapshot().total_requests !== DETAILS) throw new Error("bad snapshot");
    }),
  );
  const snapshotJson = runs(RUNS, () =>
    timed(() => {
      if (full.snapshotJson().length < DETAILS * 100) throw new Error("bad snapshot JSON");
    }),
  );
  const parse = runs(3, () => {
    const value = full.snapshot();
    return timed(() => {
      if (parseStatisticsSnapshot(value).details.count !== DETAILS) throw new Error("bad parse");
    });
  });

  const memoryRuns = Array.from({ length: MEMORY_RUNS }, () => {
    const output = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--measure-memory"], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    return JSON.parse(output.trim().split("\n").pop() ?? "{}") as {
      bytesPerDetail: number;
      typedArrayBytesPerDetail: number;
      rssBytesPerDetail: number;
    };
  });

  const rows: ResultRow[] = [
    { key: "apply_records_per_s", value: apply.wall, unit: "records/s (dedup included)", target: ">= 1,000,000" },
    { key: "merge_1m_into_1m_ms", value: merge.wall, unit: "ms", target: "< 2,000" },
    { key: "snapshot_1m_ms", value: snapshot.wall, unit: "ms (plain object)" },
    {
      key: "bytes_per_detail",
      value: measured(memoryRuns.map((m) => m.bytesPerDetail)),
      unit: "bytes (heap + external, index included)",
      target: "<= 80",
    },
    { key: "apply_records_per_s_cpu", value: apply.cpu, unit: "records/s of process CPU time" },
    { key: "apply_batch_records_per_s", value: applyBatch.wall, unit: "records/s (applyBatch per fetched batch of 1,100)" },
    { key: "apply_batch_records_per_s_cpu", value: applyBatch.cpu, unit: "records/s of process CPU time" },
    { key: "merge_1m_into_1m_ms_cpu", value: merge.cpu, unit: "ms of process CPU time" },
    { key: "snapshot_1m_ms_cpu", value: snapshot.cpu, unit: "ms of process CPU time" },
    { key: "snapshot_json_1m_ms", value: snapshotJson.wall, unit: "ms (Go JSON bytes)" },
    { key: "snapshot_json_1m_ms_cpu", value: snapshotJson.cpu, unit: "ms of process CPU time" },
    { key: "parse_snapshot_1m_ms", value: parse.wall, unit: "ms (parseStatisticsSnapshot of a 1M-detail object)" },
    {
      key: "typed_array_bytes_per_detail",
      value: measured(memoryRuns.map((m) => m.typedArrayBytesPerDetail)),
      unit: "bytes (rows + index)",
    },
    { key: "rss_bytes_per_detail", value: measured(memoryRuns.map((m) => m.rssBytesPerDetail)), unit: "bytes (RSS growth, coarse)" },
  ];
  writeResults("statistics", rows, {
    details: DETAILS,
    deliveries,
    load_average_at_start: load,
    load_average_at_end: loadavg(),
  });
}

if (process.argv.includes("--measure-memory")) {
  measureMemory();
} else if ((globalThis as { gc?: unknown }).gc === undefined) {
  // Re-run under --expose-gc (the root script starts plain tsx).
  execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
} else {
  main();
}
