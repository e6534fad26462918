import { describe, expect, it } from "vitest";
import { isStatisticsError } from "./errors";
import { parseImportBody, parseImportText, parseStatisticsSnapshot } from "./import-parse";
import { RequestStatistics } from "./request-statistics";
import { counterClock } from "../test/support/records";

const ONE_DETAIL = '{"apis":{"k":{"models":{"m":{"details":[{"timestamp":"2026-01-10T10:00:00Z","tokens":{"input_tokens":1}}]}}}}}';
const detailsOf = (detailsJson: string): string => `{"usage":{"apis":{"k":{"models":{"m":{"details":${detailsJson}}}}}}}`;

type Outcome = "STATS_INVALID_JSON" | "STATS_UNSUPPORTED_VERSION" | { added: number; skipped: number; apis: string[] };

/** Import bodies and what the Go seed's import handler answers (checked against the seed). */
const CASES: [string, string, Outcome][] = [
  ["an empty object", "{}", { added: 0, skipped: 0, apis: [] }],
  ["null (Go's Unmarshal leaves the zero value)", "null", { added: 0, skipped: 0, apis: [] }],
  [
    "an export body, exported_at ignored even when not a time",
    `{"version":1,"exported_at":"not a time","usage":${ONE_DETAIL}}`,
    { added: 1, skipped: 0, apis: ["k"] },
  ],
  ["a GET /usage body", `{"usage":${ONE_DETAIL},"failed_requests":3}`, { added: 1, skipped: 0, apis: ["k"] }],
  ["version 2", '{"version":2,"usage":{}}', "STATS_UNSUPPORTED_VERSION"],
  ["version -1", '{"version":-1}', "STATS_UNSUPPORTED_VERSION"],
  ["a version string", '{"version":"1"}', "STATS_INVALID_JSON"],
  ["a fractional version", '{"version":1.5}', "STATS_INVALID_JSON"],
  ["null version and usage", '{"version":null,"usage":null}', { added: 0, skipped: 0, apis: [] }],
  ["an array body", "[]", "STATS_INVALID_JSON"],
  ["a string body", '"x"', "STATS_INVALID_JSON"],
  ["a number body", "5", "STATS_INVALID_JSON"],
  ["an array usage", '{"usage":[]}', "STATS_INVALID_JSON"],
  ["an object where details is an array", detailsOf("{}"), "STATS_INVALID_JSON"],
  ["a string token count", detailsOf('[{"tokens":{"input_tokens":"5"}}]'), "STATS_INVALID_JSON"],
  ["a fractional token count", detailsOf('[{"tokens":{"input_tokens":1.5}}]'), "STATS_INVALID_JSON"],
  ["a number for failed", detailsOf('[{"failed":1}]'), "STATS_INVALID_JSON"],
  ["a number for a timestamp", detailsOf('[{"timestamp":5}]'), "STATS_INVALID_JSON"],
  ["a timestamp with a space", detailsOf('[{"timestamp":"2026-01-10 10:00:00Z"}]'), "STATS_INVALID_JSON"],
  ["a lower-case t in a timestamp", detailsOf('[{"timestamp":"2026-01-10t10:00:00Z"}]'), "STATS_INVALID_JSON"],
  ["an array for source", detailsOf('[{"source":[]}]'), "STATS_INVALID_JSON"],
  ["a fractional snapshot total (checked though ignored)", '{"usage":{"total_requests":1.5}}', "STATS_INVALID_JSON"],
  ["a string in requests_by_day", '{"usage":{"requests_by_day":{"x":"y"}}}', "STATS_INVALID_JSON"],
  ["an array for requests_by_hour", '{"usage":{"requests_by_hour":[]}}', "STATS_INVALID_JSON"],
  ["a bad field and a bad version: the decode error first", '{"version":3,"usage":{"total_tokens":"x"}}', "STATS_INVALID_JSON"],
  ["keys matched case-insensitively", '{"VERSION":2}', "STATS_UNSUPPORTED_VERSION"],
  [
    "keys matched with Go's Unicode folding (Kelvin sign, long s)",
    '{"uſage":{"APIS":{"k":{"Models":{"m":{"Details":[{"TimeStamp":"2026-01-10T10:00:00Z","To\\u212aens":{"INPUT_TOKENS":3}}]}}}}}}',
    { added: 1, skipped: 0, apis: ["k"] },
  ],
  ["no folding of dotless i", '{"usage":{"apıs":{"k":{"models":5}}}}', { added: 0, skipped: 0, apis: [] }],
  ["null apis", '{"usage":{"apis":null}}', { added: 0, skipped: 0, apis: [] }],
  [
    "null API, null models, null model: APIs created, nothing added",
    '{"usage":{"apis":{"k":null,"j":{"models":null},"i":{"models":{"m":null}}}}}',
    { added: 0, skipped: 0, apis: ["i", "j", "k"] },
  ],
  [
    "unknown keys at every level",
    `{"usage":{"apis":{"k":{"models":{"m":{"details":[{"timestamp":"2026-01-10T10:00:00Z","whatever":[1,2],"tokens":{"input_tokens":1,"extra":"x"}}]}}}}},"other":{"deep":[null]}}`,
    { added: 1, skipped: 0, apis: ["k"] },
  ],
  [
    "usage twice (case variants): decoded into one value",
    '{"usage":{"apis":{"a":{"models":{"m":{"details":[{"timestamp":"2026-01-10T10:00:00Z"}]}}}}},"Usage":{"apis":{"b":{"models":{"m":{"details":[{"timestamp":"2026-01-10T11:00:00Z"}]}}}}}}',
    { added: 2, skipped: 0, apis: ["a", "b"] },
  ],
  [
    "an int64 beyond 2^53 (deliberately refused: not exact in JS)",
    detailsOf('[{"tokens":{"input_tokens":9007199254740993}}]'),
    "STATS_INVALID_JSON",
  ],
  [
    "an offset of 24h (deliberately refused: Go could never encode it again)",
    detailsOf('[{"timestamp":"2026-01-10T10:00:00+24:00"}]'),
    "STATS_INVALID_JSON",
  ],
];

function outcome(text: string): Outcome {
  const statistics = new RequestStatistics({ clock: counterClock() });
  try {
    const { snapshot } = parseImportText(text);
    const { added, skipped } = statistics.mergeSnapshot(snapshot);
    return { added, skipped, apis: statistics.apiNames() };
  } catch (error) {
    if (isStatisticsError(error) && (error.code === "STATS_INVALID_JSON" || error.code === "STATS_UNSUPPORTED_VERSION")) return error.code;
    throw error;
  }
}

describe("parseImportBody (Go's json.Unmarshal into the import payload)", () => {
  it.each(CASES)("%s", (_name, text, expected) => {
    expect(outcome(text)).toEqual(expected);
  });

  it("reports the version and keeps the snapshot's own totals", () => {
    const parsed = parseImportBody({ version: 1, usage: { total_requests: 7, success_count: 5, failure_count: 2, total_tokens: 100 } });
    expect(parsed.version).toBe(1);
    expect(parsed.snapshot.totals).toEqual({ totalRequests: 7, successCount: 5, failureCount: 2, totalTokens: 100 });
    expect(parsed.snapshot.details.count).toBe(0);
    expect(parseImportBody({}).version).toBe(0);
  });

  it("lays details out in merge order: API names, then models sorted by UTF-8 bytes", () => {
    const parsed = parseStatisticsSnapshot({
      apis: {
        b: { models: { z: { details: [{ source: "b/z" }] }, a: { details: [{ source: "b/a1" }, { source: "b/a2" }] } } },
        "\ud83d\ude00": { models: { m: { details: [{ source: "emoji" }] } } },
        "\uff41": { models: { m: { details: [{ source: "fullwidth" }] } } },
        a: {},
      },
    });
    expect(parsed.apiNames).toEqual(["a", "b", "\uff41", "\ud83d\ude00"]);
    const { details } = parsed;
    expect(Array.from(details.source.subarray(0, details.count), (i) => details.strings[i])).toEqual([
      "b/a1",
      "b/a2",
      "b/z",
      "fullwidth",
      "emoji",
    ]);
  });

  it("turns null fields into Go's zero values (a null timestamp takes the clock)", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    statistics.mergeSnapshot(
      parseImportText(detailsOf('[{"failed":null,"timestamp":null,"source":null,"tokens":null,"latency_ms":null}]')).snapshot,
    );
    expect(statistics.snapshotJson()).toBe(
      '{"total_requests":1,"success_count":1,"failure_count":0,"total_tokens":0,"apis":{"k":{"total_requests":1,"total_tokens":0,"models":{"m":{"total_requests":1,"total_tokens":0,"details":[{"timestamp":"2026-01-01T00:00:00.000000001Z","latency_ms":0,"source":"","auth_index":"","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":0},"failed":false}]}}}},"requests_by_day":{"2026-01-01":1},"requests_by_hour":{"00":1},"tokens_by_day":{"2026-01-01":0},"tokens_by_hour":{"00":0}}',
    );
  });

  it("replaces lone surrogates with U+FFFD as Go's decoder does", () => {
    const statistics = new RequestStatistics();
    statistics.mergeSnapshot(
      parseImportText(
        '{"usage":{"apis":{"\\ud800x":{"models":{"m":{"details":[{"timestamp":"2026-01-10T10:00:00Z","source":"\\udc00"}]}}}}}}',
      ).snapshot,
    );
    expect(statistics.apiNames()).toEqual(["\ufffdx"]);
    expect(statistics.snapshotJson()).toContain('"source":"\ufffd"');
  });

  it("accepts Go's lenient timestamps (comma fraction, one-digit hour) and writes them canonically", () => {
    const statistics = new RequestStatistics();
    statistics.mergeSnapshot(
      parseImportText(detailsOf('[{"timestamp":"2026-01-10T10:00:00,5+05:30"},{"timestamp":"2026-01-10T9:00:00Z"}]')).snapshot,
    );
    expect(statistics.snapshot().apis.k?.models.m?.details.map((d) => d.timestamp)).toEqual([
      "2026-01-10T10:00:00.5+05:30",
      "2026-01-10T09:00:00Z",
    ]);
  });

  it("refuses text that is not JSON", () => {
    expect(() => parseImportText("{bad")).toThrowError(expect.objectContaining({ code: "STATS_INVALID_JSON" }));
  });
});
