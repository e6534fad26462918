import { describe, expect, it } from "vitest";
import { RequestStatistics } from "./request-statistics";
import { usageRecord } from "../test/support/records";

/** `count` records over 7 API keys, 3 models and 4 offsets, from `start` on (distinct dedup keys). */
function fill(statistics: RequestStatistics, start: number, count: number): void {
  for (let i = start; i < start + count; i++) {
    statistics.apply(
      usageRecord({
        apiKey: `key-${i % 7}`,
        model: `model-${i % 3}`,
        source: `source-${i % 5}`,
        latencyMs: i % 900,
        failed: i % 11 === 0,
        timestamp: { epochSeconds: 1_768_000_000 + i * 31, nanos: (i * 7919) % 1_000_000_000, offsetSeconds: ((i % 4) - 1) * 3600 },
        tokens: { inputTokens: i % 500, outputTokens: i % 300, totalTokens: 0 },
      }),
    );
  }
}

describe("snapshotJsonChunks", () => {
  it("joins to snapshotJson, in chunks of about 64 KiB, with or without details", () => {
    const statistics = new RequestStatistics();
    fill(statistics, 0, 5_000);
    const chunks = [...statistics.snapshotJsonChunks()];
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.join("")).toBe(statistics.snapshotJson());
    for (const chunk of chunks.slice(0, -1)) expect(Buffer.byteLength(chunk)).toBeGreaterThanOrEqual(1 << 16);
    expect([...statistics.snapshotJsonChunks({ details: false })].join("")).toBe(statistics.snapshotJson({ details: false }));
    const since = { epochSeconds: 1_768_000_000 + 2_500 * 31, nanos: 0, offsetSeconds: 0 };
    expect([...statistics.snapshotJsonChunks({ detailsSince: since })].join("")).toBe(statistics.snapshotJson({ detailsSince: since }));
    expect([...new RequestStatistics().snapshotJsonChunks()].join("")).toBe(new RequestStatistics().snapshotJson());
  });

  it("is the state at the first chunk: records applied while the rest is drawn do not show", () => {
    const statistics = new RequestStatistics();
    fill(statistics, 0, 5_000);
    const before = statistics.snapshotJson();
    const chunks = statistics.snapshotJsonChunks();
    const first = chunks.next();
    expect(first.done).toBe(false);
    // New details for known and new API keys and models, new days and hours.
    fill(statistics, 5_000, 3_000);
    statistics.apply(usageRecord({ apiKey: "a-new-key", model: "a-new-model", timestamp: "2030-06-01T03:04:05Z" }));
    const rest = [...chunks];
    expect([first.value, ...rest].join("")).toBe(before);
    expect(statistics.snapshotJson()).not.toBe(before);
  });
});
