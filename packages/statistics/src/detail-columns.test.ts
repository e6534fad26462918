import { describe, expect, it } from "vitest";
import { allocateDetailColumns, validateDetailColumns, type MutableDetailColumns } from "./detail-columns";
import { StatisticsError } from "./errors";

/** A valid batch of `count` rows, every column filled with varied, valid values. */
function validBatch(count: number): MutableDetailColumns {
  const columns = allocateDetailColumns(count, ["api-a", "api-b", "model", "source", "auth"]);
  for (let row = 0; row < count; row++) {
    columns.api[row] = row % 2;
    columns.model[row] = 2;
    columns.source[row] = 3;
    columns.authIndex[row] = 4;
    columns.epochSeconds[row] = 1_768_000_000 + row * 37;
    columns.nanos[row] = (row * 7919) % 1_000_000_000;
    columns.offsetSeconds[row] = ((row % 5) - 2) * 3600;
    columns.failed[row] = row % 3 === 0 ? 1 : 0;
    columns.latencyMs[row] = row;
    columns.inputTokens[row] = row * 3;
    columns.outputTokens[row] = row;
    columns.reasoningTokens[row] = 0;
    columns.cachedTokens[row] = row % 4;
    columns.totalTokens[row] = row % 2 === 0 ? 0 : row * 4;
  }
  return columns;
}

function problemOf(columns: MutableDetailColumns): string | undefined {
  try {
    validateDetailColumns(columns);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(StatisticsError);
    expect((error as StatisticsError).code).toBe("STATS_INVALID_COLUMNS");
    return (error as StatisticsError).message;
  }
}

describe("validateDetailColumns", () => {
  it("accepts valid batches, columns longer than count included", () => {
    expect(problemOf(validBatch(0))).toBeUndefined();
    expect(problemOf(validBatch(1_000))).toBeUndefined();
    expect(problemOf({ ...validBatch(100), count: 60 })).toBeUndefined();
  });

  // Every check, at a row in the middle of the batch: the message names the column (or what) and the row.
  const corruptions: ReadonlyArray<readonly [string, (columns: MutableDetailColumns) => void, RegExp]> = [
    ["api index outside the table", (c) => (c.api[500] = 5), /api\[500\] is outside the string table/],
    ["model index outside the table", (c) => (c.model[500] = 99), /model\[500\]/],
    ["source index outside the table", (c) => (c.source[500] = 5), /source\[500\]/],
    ["auth index outside the table", (c) => (c.authIndex[500] = 5), /authIndex\[500\]/],
    ["fractional latency", (c) => (c.latencyMs[500] = 0.5), /latencyMs\[500\] is not a safe integer/],
    ["NaN input tokens", (c) => (c.inputTokens[500] = Number.NaN), /inputTokens\[500\]/],
    ["output tokens beyond 2^53", (c) => (c.outputTokens[500] = 2 ** 53), /outputTokens\[500\]/],
    ["infinite reasoning tokens", (c) => (c.reasoningTokens[500] = Number.POSITIVE_INFINITY), /reasoningTokens\[500\]/],
    ["fractional cached tokens", (c) => (c.cachedTokens[500] = 1.5), /cachedTokens\[500\]/],
    ["fractional total", (c) => (c.totalTokens[500] = -0.25), /totalTokens\[500\]/],
    ["failed not 0 or 1", (c) => (c.failed[500] = 2), /failed\[500\] is not 0 or 1/],
    [
      "normalised total beyond 2^53",
      (c) => {
        c.inputTokens[500] = 2 ** 52;
        c.outputTokens[500] = 2 ** 52;
        c.totalTokens[500] = 0;
      },
      /normalised total of row 500/,
    ],
    ["fractional epoch seconds", (c) => (c.epochSeconds[500] = 1.5), /timestamp of row 500/],
    ["year beyond 9999", (c) => (c.epochSeconds[500] = 253_402_400_000), /timestamp of row 500: year/],
    ["offset of 24h", (c) => (c.offsetSeconds[500] = 86_400), /timestamp of row 500: offsetSeconds/],
    ["offset with seconds", (c) => (c.offsetSeconds[500] = 30), /timestamp of row 500: offsetSeconds/],
    ["negative nanos", (c) => (c.nanos[500] = -1), /timestamp of row 500: nanos/],
  ];
  for (const [what, corrupt, message] of corruptions) {
    it(`refuses ${what}, naming the row`, () => {
      const columns = validBatch(1_000);
      corrupt(columns);
      expect(problemOf(columns)).toMatch(message);
    });
  }

  it("refuses wrong column types, short columns, a bad count and a bad string table", () => {
    const base = validBatch(10);
    expect(problemOf({ ...base, nanos: new Float64Array(10) as unknown as Int32Array })).toMatch(/nanos is not a Int32Array/);
    expect(problemOf({ ...base, failed: new Uint8Array(9) })).toMatch(/failed has fewer than 10 rows/);
    expect(problemOf({ ...base, count: -1 })).toMatch(/count/);
    expect(problemOf({ ...base, count: 2.5 })).toMatch(/count/);
    expect(problemOf({ ...base, strings: ["a", 1 as unknown as string] })).toMatch(/strings\[1\]/);
    expect(problemOf(null as unknown as MutableDetailColumns)).toMatch(/not an object/);
  });
});
