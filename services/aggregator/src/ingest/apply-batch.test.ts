import { describe, expect, it } from "vitest";
import { RequestStatistics, formatRfc3339Nano } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { decodeUsageRecord, encodeDetailChunk, encodeUsageRecord, isWireError } from "@usage-ledger/wire";
import { applyMessages, isDetailChunk, stampFromLog } from "./apply-batch";
import type { BatchMessage } from "./apply-batch";

function record(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    timestamp: { epochSeconds: 1_768_056_419, nanos: 123_456_789, offsetSeconds: 8 * 3600 },
    apiKey: "sk-a",
    model: "gpt-5",
    provider: "openai",
    endpoint: "POST /v1/chat/completions",
    source: "a@example.com",
    authIndex: "0",
    authId: "",
    authType: "oauth",
    failed: false,
    statusCode: 200,
    latencyMs: 12,
    tokens: { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
    ...overrides,
  };
}

let nextOffset = 0;
function message(value: Buffer | null, key = "sk-a"): BatchMessage {
  const offset = nextOffset++;
  return { key: Buffer.from(key), value, offset: String(offset), timestamp: String(1_768_000_000_000 + offset) };
}

function codeOf(bytes: Buffer): string {
  try {
    decodeUsageRecord(bytes);
  } catch (error) {
    if (isWireError(error)) return error.code;
  }
  return "decodes";
}

describe("applyMessages", () => {
  it("applies records, skips re-deliveries by dedup key and counts blank API names as ignored", () => {
    const statistics = new RequestStatistics();
    const a = encodeUsageRecord(record());
    const b = encodeUsageRecord(record({ timestamp: { epochSeconds: 1_768_056_420, nanos: 1, offsetSeconds: 0 } }));
    const blank = encodeUsageRecord(record({ apiKey: "   " }));
    const outcome = applyMessages(statistics, [message(a), message(b), message(a), message(blank)], 0, { partition: 0, replayUntil: 0 });
    expect(outcome).toMatchObject({ applied: 2, duplicates: 1, ignored: 1, importBatches: 0, replayed: 0, deadLetters: [] });
    const truth = new RequestStatistics();
    truth.record(record());
    truth.record(record({ timestamp: { epochSeconds: 1_768_056_420, nanos: 1, offsetSeconds: 0 } }));
    expect(statistics.snapshotJson()).toBe(truth.snapshotJson());
  });

  it("turns undecodable and invalid messages into dead letters with the wire's code, original key and bytes, and goes on", () => {
    const statistics = new RequestStatistics();
    const good = encodeUsageRecord(record());
    const badMarker = Buffer.from('{"json":true}');
    const truncated = good.subarray(0, good.length - 4);
    const unknown = Buffer.concat([Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]), good.subarray(10)]);
    const messages = [message(badMarker, "k1"), message(truncated, "k2"), message(null, "k3"), message(unknown, "k4"), message(good)];
    const outcome = applyMessages(statistics, messages, 0, { partition: 3, replayUntil: 0 });
    expect(outcome.applied).toBe(1);
    expect(
      outcome.deadLetters.map((letter) => ({
        key: letter.key?.toString(),
        reason: letter.reason,
        partition: letter.partition,
        offset: letter.offset,
      })),
    ).toEqual([
      { key: "k1", reason: "WIRE_BAD_MARKER", partition: 3, offset: messages[0]!.offset },
      { key: "k2", reason: codeOf(truncated), partition: 3, offset: messages[1]!.offset },
      { key: "k3", reason: "WIRE_TRUNCATED", partition: 3, offset: messages[2]!.offset },
      { key: "k4", reason: "WIRE_UNKNOWN_FINGERPRINT", partition: 3, offset: messages[3]!.offset },
    ]);
    expect(outcome.deadLetters[0]!.value).toBe(badMarker);
    expect(outcome.deadLetters[2]!.value).toBeNull();
    for (const letter of outcome.deadLetters) expect(letter.message).toMatch(/\S/);
  });

  it("merges an import batch (a detail chunk told apart by its fingerprint) with mergeSnapshot semantics", () => {
    const source = new RequestStatistics();
    source.record(record());
    source.record(
      record({ apiKey: "sk-b", tokens: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: -7 } }),
    );
    const chunk = encodeDetailChunk({
      sourceTopic: "usage.records",
      partition: 0,
      generation: 0,
      writerEpoch: 0,
      chunkIndex: 0,
      detailOffset: 0,
      columns: source.exportDetails(0, source.detailCount),
    });
    expect(isDetailChunk(chunk)).toBe(true);
    expect(isDetailChunk(encodeUsageRecord(record()))).toBe(false);
    const statistics = new RequestStatistics();
    statistics.apply(record());
    const outcome = applyMessages(statistics, [message(chunk, "import/x")], 0, { partition: 0, replayUntil: 0 });
    expect(outcome).toMatchObject({ applied: 1, duplicates: 1, importBatches: 1, deadLetters: [] });
    const expected = new RequestStatistics();
    expected.apply(record());
    expected.mergeDetails(source.exportDetails(0, source.detailCount));
    expect(statistics.snapshotJson()).toBe(expected.snapshotJson());
  });

  it("stamps a record without a timestamp from its place in the log, so a replay gets the same dedup key", () => {
    const bytes = encodeUsageRecord(record({ timestamp: undefined }));
    const first = message(bytes);
    const statistics = new RequestStatistics();
    expect(applyMessages(statistics, [first], 0, { partition: 0, replayUntil: 0 }).applied).toBe(1);
    // The same message again (a replay after a restore) is a duplicate, not a second request.
    expect(applyMessages(statistics, [first], 0, { partition: 0, replayUntil: 0 }).duplicates).toBe(1);
    // Another message of the same millisecond gets another stamp.
    const second: BatchMessage = { ...message(bytes), timestamp: first.timestamp };
    expect(applyMessages(statistics, [second], 0, { partition: 0, replayUntil: 0 }).applied).toBe(1);
    expect(stampFromLog("1768000000123", "2000005")).toEqual({ epochSeconds: 1_768_000_000, nanos: 123_000_005, offsetSeconds: 0 });
    const stamps = [stampFromLog(first.timestamp, first.offset), stampFromLog(second.timestamp, second.offset)].map(formatRfc3339Nano);
    expect(stamps[0]).not.toBe(stamps[1]);
    expect(statistics.snapshot().apis["sk-a"]?.models["gpt-5"]?.details.map((detail) => detail.timestamp)).toEqual(stamps);
  });

  it("starts at `from` and counts as replayed the messages below `replayUntil`", () => {
    const statistics = new RequestStatistics();
    const messages = Array.from({ length: 6 }, (_, index) =>
      message(encodeUsageRecord(record({ timestamp: { epochSeconds: 1_768_056_419 + index, nanos: 0, offsetSeconds: 0 } }))),
    );
    const replayUntil = Number(messages[3]!.offset);
    const outcome = applyMessages(statistics, messages, 1, { partition: 0, replayUntil });
    expect({ applied: outcome.applied, replayed: outcome.replayed }).toEqual({ applied: 5, replayed: 2 });
    const all = applyMessages(new RequestStatistics(), messages, 0, { partition: 0, replayUntil: Number(messages[5]!.offset) + 1 });
    expect(all.replayed).toBe(6);
  });
});
