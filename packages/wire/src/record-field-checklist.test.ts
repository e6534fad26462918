import { readFileSync } from "node:fs";
import avsc from "avsc";
import { describe, expect, it } from "vitest";
import { RequestStatistics, formatRfc3339Nano } from "@usage-ledger/statistics";
import type { Timestamp, UsageRecord } from "@usage-ledger/statistics";
import { EMPTY_RECORD } from "../test/support/fixtures";
import { decodeUsageRecord, encodeUsageRecord, mapUsageQueuePayload, schemaFiles } from "./index";

/*
 * Issue 13: adding a record field touches many files. README.md's "Adding a record field: the
 * checklist" lists them and its "Record fields" table has one row per schema field; this test fails
 * when a field of schemas/usage-record.avsc has no row, or a row the code does not keep: the
 * TypeScript mapping both ways, the usage-queue mapping, and whether the statistics count it.
 */

interface FieldRow {
  readonly avro: string;
  readonly record: string;
  readonly queue: string;
  readonly statistics: string;
}

interface AvroField {
  readonly name: string;
  readonly type: unknown;
}

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const schema = schemaFiles["usage-record.avsc"] as { fields: AvroField[] };
const bodyType = avsc.Type.forSchema(schema as avsc.Schema);
const TIMESTAMP: Timestamp = { epochSeconds: 1_768_046_400, nanos: 5, offsetSeconds: 19_800 };

function documentedRows(): FieldRow[] {
  const section = readme.split("### Record fields")[1] ?? "";
  return [...section.matchAll(/^\| `([\w.]+)` \| `([\w.]+)` \| (.+?) \| (.+?) \|$/gm)].map(([, avro, record, queue, statistics]) => ({
    avro: avro!,
    record: record!,
    queue: queue!,
    statistics: statistics!,
  }));
}

/** The schema's field paths with their types: `tokens` by its nested fields, `timestamp` as one. */
function schemaFields(): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const field of schema.fields) {
    const type = field.type as { type?: string; fields?: AvroField[] };
    if (type.type === "record" && type.fields !== undefined) {
      for (const inner of type.fields) fields.set(`${field.name}.${inner.name}`, inner.type);
    } else {
      fields.set(field.name, field.type);
    }
  }
  return fields;
}

/** A value of the field's type that differs from its default. */
function sampleFor(path: string, type: unknown): unknown {
  const base = Array.isArray(type) ? (type as unknown[]).find((branch) => branch !== "null") : type;
  if (path === "timestamp") return TIMESTAMP;
  switch (base) {
    case "string":
      return `value-of-${path}`;
    case "long":
      return 7;
    case "int":
      return 503;
    case "boolean":
      return path === "failed";
    default:
      throw new Error(`no sample for ${path} of type ${JSON.stringify(type)}`);
  }
}

function get(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], value);
}

function withPath(value: Record<string, unknown>, path: string, leaf: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split(".");
  const inner = rest.length === 0 ? leaf : withPath((value[head!] as Record<string, unknown> | undefined) ?? {}, rest.join("."), leaf);
  return { ...value, [head!]: inner };
}

function avroValue(path: string, sample: unknown): unknown {
  if (path !== "timestamp") return sample;
  const ts = sample as Timestamp;
  return { epoch_seconds: ts.epochSeconds, nanos: ts.nanos, offset_seconds: ts.offsetSeconds };
}

function snapshotOf(record: UsageRecord): string {
  const statistics = new RequestStatistics({ clock: () => ({ epochSeconds: 1_700_000_000, nanos: 0, offsetSeconds: 0 }) });
  statistics.apply(record);
  return statistics.snapshotJson();
}

describe("README.md's record-field checklist", () => {
  const rows = documentedRows();
  const fields = schemaFields();

  it("has exactly one row per field of schemas/usage-record.avsc", () => {
    expect(rows.map((row) => row.avro).sort()).toEqual([...fields.keys()].sort());
  });

  it.each(rows.map((row) => [row.avro, row] as const))("%s: the row is what the code does", (avro, row) => {
    const sample = sampleFor(avro, fields.get(avro));
    const record = withPath(EMPTY_RECORD as unknown as Record<string, unknown>, row.record, sample) as unknown as UsageRecord;

    // TypeScript -> Avro: the value lands in the schema field the row names, and comes back.
    const bytes = encodeUsageRecord(record);
    expect(get(bodyType.fromBuffer(bytes.subarray(10)), avro)).toEqual(avroValue(avro, sample));
    expect(get(decodeUsageRecord(bytes), row.record)).toEqual(sample);

    // CLIProxyAPI usage-queue JSON -> the same UsageRecord field.
    const queue = /^`([\w.]+)`$/.exec(row.queue)?.[1];
    const option = /option `(\w+)`/.exec(row.queue)?.[1];
    if (queue !== undefined) {
      const jsonValue = avro === "timestamp" ? formatRfc3339Nano(TIMESTAMP) : sample;
      expect(get(mapUsageQueuePayload(withPath({}, queue, jsonValue)), row.record)).toEqual(sample);
    } else if (option !== undefined) {
      expect(get(mapUsageQueuePayload({}, { [option]: sample }), row.record)).toEqual(sample);
    } else {
      expect(row.queue).toMatch(/^—/);
    }

    // The statistics: a counted field changes the snapshot, a field "not counted" does not.
    const changed = snapshotOf(record) !== snapshotOf(EMPTY_RECORD);
    expect({ avro, counted: changed }).toEqual({ avro, counted: row.statistics !== "not counted" });
  });
});
