import { loadavg } from "node:os";
import type { UsageRecord } from "@usage-ledger/statistics";
import {
  createUsageRecordCodec,
  decodeDetailChunk,
  decodeUsageRecord,
  encodeDetailChunk,
  encodeUsageRecord,
  type DetailChunk,
} from "@usage-ledger/wire";
import { repeat, seededRandom, type ResultRow, writeResults } from "./harness";

/**
 * `pnpm bench:wire`: Avro single-object encoding of usage records (validation included, as the
 * publisher and the aggregator run it) against plain JSON of the same records (`JSON.stringify` to
 * bytes, `JSON.parse` back, no validation), plus the snapshot chunk codec. Fixed sizes and a fixed
 * seed; every figure is the median of several runs with min and max. Writes bench/results/wire.json.
 */

const RECORDS = 20_000;
const PASSES = 5;
const RUNS = 7;
const WARMUPS = 2;
const CHUNK_DETAILS = 20_000;

/** A fleet-like mix: 200 API keys, a dozen models, both payload eras, nanosecond timestamps in several offsets. */
function makeRecords(count: number): UsageRecord[] {
  const random = seededRandom(20_260_110);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (max: number): number => Math.floor(random() * max);
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
  const providers = ["openai", "claude", "gemini", "qwen", "iflow"];
  const endpoints = [
    "POST /v1/chat/completions",
    "POST /v1/messages",
    "POST /v1/responses",
    "POST /v1beta/models/gemini-2.5-pro:generateContent",
  ];
  const offsets = [0, 28_800, -18_000, 19_800, 3_600];
  const apiKeys = Array.from({ length: 200 }, (_, i) => `sk-client-${String(i).padStart(4, "0")}-${(i * 2_654_435_761).toString(36)}`);
  const sources = Array.from({ length: 40 }, (_, i) => `account${String(i)}@example.com`);
  let epochSeconds = 1_768_027_619;
  return Array.from({ length: count }, (_, i) => {
    epochSeconds += int(3);
    const input = int(20_000);
    const output = int(4_000);
    const reasoning = random() < 0.3 ? int(2_000) : 0;
    const cached = random() < 0.4 ? int(input) : 0;
    const status = random() < 0.05 ? pick([400, 429, 500, 503]) : 200;
    const current = random() < 0.7;
    const model = pick(models);
    const record: UsageRecord = {
      timestamp: { epochSeconds, nanos: int(1_000_000_000), offsetSeconds: pick(offsets) },
      apiKey: pick(apiKeys),
      model,
      provider: pick(providers),
      endpoint: pick(endpoints),
      source: pick(sources),
      authIndex: String(int(16)),
      authId: `auth-${String(int(64))}`,
      authType: pick(["oauth", "api_key"]),
      failed: status >= 400 && random() < 0.5,
      statusCode: status,
      latencyMs: 80 + int(30_000),
      tokens: {
        inputTokens: input,
        outputTokens: output,
        reasoningTokens: reasoning,
        cachedTokens: cached,
        totalTokens: input + output + reasoning,
      },
    };
    if (!current) {
      return { ...record, extra: { requestId: `req-${String(i)}` } };
    }
    return {
      ...record,
      extra: {
        ttftMs: 50 + int(3_000),
        alias: model.split("-")[0] ?? model,
        executorType: `${record.provider}-executor`,
        requestId: `req-${String(i)}`,
        cacheReadTokens: cached,
        cacheCreationTokens: random() < 0.1 ? int(5_000) : 0,
        generate: true,
        nodeId: `node-${String(int(8))}`,
      },
    };
  });
}

/** A store-like detail chunk of `count` details. */
function makeChunk(records: readonly UsageRecord[], count: number): DetailChunk {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (text: string): number => {
    let at = index.get(text);
    if (at === undefined) {
      at = strings.push(text) - 1;
      index.set(text, at);
    }
    return at;
  };
  const column = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
    make: new (n: number) => T,
    value: (r: UsageRecord) => number,
  ): T => {
    const out = new make(count);
    for (let i = 0; i < count; i++) out[i] = value(records[i % records.length] as UsageRecord);
    return out;
  };
  return {
    sourceTopic: "usage.records",
    partition: 0,
    generation: 1,
    writerEpoch: 1,
    chunkIndex: 0,
    detailOffset: 0,
    columns: {
      count,
      strings,
      api: column(Uint32Array, (r) => intern(r.apiKey)),
      model: column(Uint32Array, (r) => intern(r.model)),
      source: column(Uint32Array, (r) => intern(r.source)),
      authIndex: column(Uint32Array, (r) => intern(r.authIndex)),
      epochSeconds: column(Float64Array, (r) => r.timestamp?.epochSeconds ?? 0),
      nanos: column(Int32Array, (r) => r.timestamp?.nanos ?? 0),
      offsetSeconds: column(Int32Array, (r) => r.timestamp?.offsetSeconds ?? 0),
      failed: column(Uint8Array, (r) => (r.failed || r.statusCode >= 400 ? 1 : 0)),
      latencyMs: column(Float64Array, (r) => r.latencyMs),
      inputTokens: column(Float64Array, (r) => r.tokens.inputTokens),
      outputTokens: column(Float64Array, (r) => r.tokens.outputTokens),
      reasoningTokens: column(Float64Array, (r) => r.tokens.reasoningTokens),
      cachedTokens: column(Float64Array, (r) => r.tokens.cachedTokens),
      totalTokens: column(Float64Array, (r) => r.tokens.totalTokens),
    },
  };
}

/** Operations per second of `body` applied to every item, `passes` times over. */
function throughput<T>(items: readonly T[], passes: number, body: (item: T) => unknown): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let pass = 0; pass < passes; pass++) {
    for (const item of items) {
      if (body(item) === undefined) sink++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink > 0) throw new Error("a codec returned nothing");
  return (items.length * passes) / seconds;
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const records = makeRecords(RECORDS);
  const avro = records.map((record) => encodeUsageRecord(record));
  const json = records.map((record) => Buffer.from(JSON.stringify(record)));
  for (let i = 0; i < records.length; i++) {
    // The two encodings carry the same records (JSON cannot hold `timestamp: undefined`, none is).
    if (JSON.stringify(decodeUsageRecord(avro[i] as Buffer)) !== (json[i] as Buffer).toString()) {
      throw new Error(`record ${String(i)} does not survive the Avro round trip`);
    }
  }
  const averageBytes = (buffers: readonly Buffer[]): number => buffers.reduce((sum, b) => sum + b.length, 0) / buffers.length;
  const chunk = makeChunk(records, CHUNK_DETAILS);
  const chunkBytes = encodeDetailChunk(chunk);
  const avscPath = createUsageRecordCodec({ fastPath: false });

  const rows: ResultRow[] = [
    {
      key: "avro_encode_per_s",
      unit: "records/s",
      value: await repeat(RUNS, () => throughput(records, PASSES, encodeUsageRecord), WARMUPS),
    },
    {
      key: "avro_decode_per_s",
      unit: "records/s",
      target: ">= 100,000 (whole ingest path, 2 cores)",
      value: await repeat(RUNS, () => throughput(avro, PASSES, decodeUsageRecord), WARMUPS),
    },
    {
      // The same decoder without its fast path (avsc's resolver, the intermediate object, validation): the reference.
      key: "avro_decode_avsc_path_per_s",
      unit: "records/s",
      value: await repeat(RUNS, () => throughput(avro, PASSES, (bytes) => avscPath.decode(bytes)), WARMUPS),
    },
    {
      key: "avro_bytes_per_record",
      unit: "bytes",
      value: await repeat(RUNS, () => averageBytes(records.map((r) => encodeUsageRecord(r)))),
    },
    {
      key: "json_encode_per_s",
      unit: "records/s",
      value: await repeat(RUNS, () => throughput(records, PASSES, (r) => Buffer.from(JSON.stringify(r))), WARMUPS),
    },
    {
      key: "json_decode_per_s",
      unit: "records/s",
      value: await repeat(RUNS, () => throughput(json, PASSES, (b) => JSON.parse(b.toString()) as unknown), WARMUPS),
    },
    {
      key: "json_bytes_per_record",
      unit: "bytes",
      value: await repeat(RUNS, () => averageBytes(records.map((r) => Buffer.from(JSON.stringify(r))))),
    },
    {
      key: "chunk_encode_details_per_s",
      unit: "details/s",
      value: await repeat(RUNS, () => throughput([chunk], 3, encodeDetailChunk) * CHUNK_DETAILS, WARMUPS),
    },
    {
      key: "chunk_decode_details_per_s",
      unit: "details/s",
      value: await repeat(RUNS, () => throughput([chunkBytes], 3, decodeDetailChunk) * CHUNK_DETAILS, WARMUPS),
    },
    { key: "chunk_bytes_per_detail", unit: "bytes", value: await repeat(RUNS, () => encodeDetailChunk(chunk).length / CHUNK_DETAILS) },
  ];
  writeResults("wire", rows, {
    records: RECORDS,
    passes_per_run: PASSES,
    chunk_details: CHUNK_DETAILS,
    // The machine is shared: the 1-minute load average before and after tells how busy it was.
    load_average_1m: { before: loadBefore[0], after: loadavg()[0] },
    notes:
      "Avro figures include validateUsageRecord (encode and decode) and the single-object header; JSON figures are bare " +
      "JSON.stringify+Buffer.from / Buffer#toString+JSON.parse of the same UsageRecord objects, without validation. " +
      "avro_decode_per_s is decodeUsageRecord (its fast path for the current schema); avro_decode_avsc_path_per_s the same " +
      "decoder through avsc only (createUsageRecordCodec({ fastPath: false })).",
  });
}

await main();
