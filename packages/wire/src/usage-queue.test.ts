import type { UsageRecord } from "@usage-ledger/statistics";
import { describe, expect, it } from "vitest";
import { EMPTY_RECORD, expectWireError } from "../test/support/fixtures";
import { classifyUsageQueueMessage, mapUsageQueuePayload, parseUsageQueueMessage } from "./usage-queue";
import { decodeUsageRecord, encodeUsageRecord } from "./usage-record-codec";

/** A seed-era payload (CLIProxyAPI v6.9.38 – v6.9.49), as the queue serves it. */
const SEED_ERA = `{"timestamp":"2026-01-10T14:46:59.123456789+08:00","latency_ms":1532,"source":"alice@example.com","auth_index":"0",
"tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":0,"total_tokens":142},
"failed":false,"provider":"gemini","model":"gemini-2.5-pro","endpoint":"POST /v1/chat/completions","auth_type":"oauth",
"api_key":"sk-client-1","request_id":"req-7f3a"}`;

/** A current payload (v6.10+) of a failed attempt, with every documented field and one unknown field. */
const CURRENT = `{"timestamp":"2026-03-02T23:59:59.5-05:00","latency_ms":845,"ttft_ms":312,"source":"bob@example.org","auth_index":"3",
"access_token_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","client_ip":"203.0.113.9",
"x_forwarded_for":"198.51.100.7","user_agent":"curl/8.5.0",
"tokens":{"input_tokens":2048,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":1024,"cache_read_tokens":1024,
"cache_read_tokens_present":true,"cache_creation_tokens":256,"total_tokens":0},
"failed":false,"fail":{"status_code":429,"body":"{\\"error\\":\\"rate limited\\"}"},"generate":true,"accounting_version":2,
"token_breakdown":{"input":{"total":2048,"uncached":768,"cache_read":1024,"cache_write":256},"output":{"total":0,"non_reasoning":0,"reasoning":0},"unclassified":0,"quality":"exact"},
"provider":"claude","executor_type":"claude-code","model":"claude-sonnet-4-5","alias":"sonnet","endpoint":"POST /v1/messages",
"auth_type":"oauth","api_key":"sk-team-42","request_id":"req-0001","reasoning_effort":"medium","service_tier":"auto",
"response_service_tier":"standard","some_future_field":{"nested":[1,2,3]}}`;

describe("mapUsageQueuePayload", () => {
  it("maps a seed-era payload", () => {
    const expected: UsageRecord = {
      timestamp: { epochSeconds: 1_768_027_619, nanos: 123_456_789, offsetSeconds: 28_800 },
      apiKey: "sk-client-1",
      model: "gemini-2.5-pro",
      provider: "gemini",
      endpoint: "POST /v1/chat/completions",
      source: "alice@example.com",
      authIndex: "0",
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: 0,
      latencyMs: 1532,
      tokens: { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 0, totalTokens: 142 },
      extra: { requestId: "req-7f3a" },
    };
    expect(mapUsageQueuePayload(JSON.parse(SEED_ERA))).toStrictEqual(expected);
  });

  it("maps a current payload: fail.status_code, cache tokens, routing and request options; unknown fields ignored", () => {
    const expected: UsageRecord = {
      // 2026-03-02T23:59:59.5-05:00 = 2026-03-03T04:59:59.5Z
      timestamp: { epochSeconds: 1_772_513_999, nanos: 500_000_000, offsetSeconds: -18_000 },
      apiKey: "sk-team-42",
      model: "claude-sonnet-4-5",
      provider: "claude",
      endpoint: "POST /v1/messages",
      source: "bob@example.org",
      authIndex: "3",
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: 429,
      latencyMs: 845,
      tokens: { inputTokens: 2048, outputTokens: 0, reasoningTokens: 0, cachedTokens: 1024, totalTokens: 0 },
      extra: {
        ttftMs: 312,
        alias: "sonnet",
        executorType: "claude-code",
        requestId: "req-0001",
        cacheReadTokens: 1024,
        cacheCreationTokens: 256,
        generate: true,
        reasoningEffort: "medium",
        serviceTier: "auto",
        responseServiceTier: "standard",
        nodeId: "bridge-1",
      },
    };
    expect(mapUsageQueuePayload(JSON.parse(CURRENT), { nodeId: "bridge-1" })).toStrictEqual(expected);
  });

  it("maps records that survive the wire unchanged", () => {
    for (const text of [SEED_ERA, CURRENT]) {
      const record = mapUsageQueuePayload(JSON.parse(text));
      expect(decodeUsageRecord(encodeUsageRecord(record))).toStrictEqual(record);
    }
  });

  it("gives missing and null fields their defaults", () => {
    const expected: UsageRecord = EMPTY_RECORD;
    expect(mapUsageQueuePayload({})).toStrictEqual(expected);
    expect(
      mapUsageQueuePayload({ timestamp: null, api_key: null, tokens: null, fail: null, failed: null, alias: null, latency_ms: null }),
    ).toStrictEqual(expected);
    expect(mapUsageQueuePayload({ timestamp: "", tokens: {}, fail: {} })).toStrictEqual(expected);
  });

  it("keeps the record's own failure flag and the status code apart", () => {
    const failedFlag = mapUsageQueuePayload({ failed: true, fail: { status_code: 200, body: "" } });
    expect([failedFlag.failed, failedFlag.statusCode]).toEqual([true, 200]);
    const byStatus = mapUsageQueuePayload({ failed: false, fail: { status_code: 503, body: "upstream down" } });
    expect([byStatus.failed, byStatus.statusCode]).toEqual([false, 503]);
  });

  it("reads cache-read tokens only when reported", () => {
    expect(mapUsageQueuePayload({ tokens: { cache_read_tokens: 0, cache_read_tokens_present: false } }).extra).toBeUndefined();
    expect(mapUsageQueuePayload({ tokens: { cache_read_tokens: 9, cache_read_tokens_present: false } }).extra).toBeUndefined();
    expect(mapUsageQueuePayload({ tokens: { cache_read_tokens: 0, cache_read_tokens_present: true } }).extra).toStrictEqual({
      cacheReadTokens: 0,
    });
    expect(mapUsageQueuePayload({ tokens: { cache_read_tokens_present: true } }).extra).toStrictEqual({ cacheReadTokens: 0 });
    expect(mapUsageQueuePayload({ tokens: { cache_read_tokens: 5 } }).extra).toStrictEqual({ cacheReadTokens: 5 });
  });

  it("takes an integer auth_index as its decimal text and keeps empty optional strings", () => {
    const record = mapUsageQueuePayload({ auth_index: 12, alias: "", reasoning_effort: "" });
    expect(record.authIndex).toBe("12");
    expect(record.extra).toStrictEqual({ alias: "", reasoningEffort: "" });
  });

  it("keeps timestamps' nanoseconds and offsets as written", () => {
    const cases: [string, { epochSeconds: number; nanos: number; offsetSeconds: number }][] = [
      ["2026-01-10T00:00:00Z", { epochSeconds: 1_768_003_200, nanos: 0, offsetSeconds: 0 }],
      ["2026-01-10T00:00:00.000000001+14:00", { epochSeconds: 1_767_952_800, nanos: 1, offsetSeconds: 50_400 }],
      ["0000-01-01T00:00:00Z", { epochSeconds: -62_167_219_200, nanos: 0, offsetSeconds: 0 }],
      ["9999-12-31T23:59:59.999999999-12:00", { epochSeconds: 253_402_343_999, nanos: 999_999_999, offsetSeconds: -43_200 }],
    ];
    for (const [text, timestamp] of cases) {
      expect(mapUsageQueuePayload({ timestamp: text }).timestamp, text).toStrictEqual(timestamp);
    }
  });

  it.each([
    ["an array", [], "WIRE_INVALID_PAYLOAD"],
    ["null", null, "WIRE_INVALID_PAYLOAD"],
    ["a string", "usage", "WIRE_INVALID_PAYLOAD"],
    ["a number as api_key", { api_key: 42 }, "WIRE_INVALID_PAYLOAD"],
    ["a string as failed", { failed: "false" }, "WIRE_INVALID_PAYLOAD"],
    ["tokens as an array", { tokens: [1, 2] }, "WIRE_INVALID_PAYLOAD"],
    ["a string token count", { tokens: { input_tokens: "100" } }, "WIRE_INVALID_PAYLOAD"],
    ["fail as a number", { fail: 500 }, "WIRE_INVALID_PAYLOAD"],
    ["a numeric timestamp", { timestamp: 1_768_027_619 }, "WIRE_INVALID_PAYLOAD"],
    ["a fractional auth_index", { auth_index: 1.5 }, "WIRE_INVALID_PAYLOAD"],
    ["a timestamp that is not RFC 3339", { timestamp: "2026-01-10 14:46:59" }, "WIRE_INVALID_TIMESTAMP"],
    ["a timestamp with an impossible date", { timestamp: "2026-02-30T00:00:00Z" }, "WIRE_INVALID_TIMESTAMP"],
    ["a fractional token count", { tokens: { output_tokens: 2.5 } }, "WIRE_UNSAFE_INTEGER"],
    ["a token count beyond 2^53", { tokens: { total_tokens: 2 ** 60 } }, "WIRE_UNSAFE_INTEGER"],
    ["negative tokens", { tokens: { input_tokens: -3 } }, "WIRE_NEGATIVE_TOKENS"],
    ["negative cache creation tokens", { tokens: { cache_creation_tokens: -1 } }, "WIRE_NEGATIVE_TOKENS"],
    ["a status code of 1000", { fail: { status_code: 1000 } }, "WIRE_INVALID_FIELD"],
    ["an api key of 5000 bytes", { api_key: "k".repeat(5000) }, "WIRE_STRING_TOO_LONG"],
  ])("rejects %s", (_name, json, code) => {
    expectWireError(() => mapUsageQueuePayload(json), code as Parameters<typeof expectWireError>[1]);
  });
});

describe("usage-queue control payloads", () => {
  it("classifies the control payloads of SUBSCRIBE usage", () => {
    expect(classifyUsageQueueMessage({ support_refresh: true })).toBe("support-refresh");
    expect(classifyUsageQueueMessage({ refresh: true })).toBe("refresh");
    expect(classifyUsageQueueMessage(JSON.parse(SEED_ERA))).toBe("usage");
    expect(classifyUsageQueueMessage(JSON.parse(CURRENT))).toBe("usage");
    // A record never counts as control, whatever extra flags it carries.
    expect(classifyUsageQueueMessage({ refresh: true, timestamp: "2026-01-10T00:00:00Z" })).toBe("usage");
    expect(classifyUsageQueueMessage({ refresh: false })).toBe("usage");
    expect(classifyUsageQueueMessage([{ refresh: true }])).toBe("usage");
  });

  it("parses message text into control or usage", () => {
    expect(parseUsageQueueMessage('{"support_refresh":true}')).toStrictEqual({ kind: "support-refresh" });
    expect(parseUsageQueueMessage(Buffer.from('{"refresh":true}'))).toStrictEqual({ kind: "refresh" });
    expect(parseUsageQueueMessage(SEED_ERA)).toStrictEqual({ kind: "usage", record: mapUsageQueuePayload(JSON.parse(SEED_ERA)) });
    expect(parseUsageQueueMessage(new TextEncoder().encode(CURRENT), { nodeId: "n" })).toStrictEqual({
      kind: "usage",
      record: mapUsageQueuePayload(JSON.parse(CURRENT), { nodeId: "n" }),
    });
  });

  it("rejects text that is not JSON with WIRE_INVALID_JSON", () => {
    expectWireError(() => parseUsageQueueMessage("{not json"), "WIRE_INVALID_JSON");
    expectWireError(() => parseUsageQueueMessage(""), "WIRE_INVALID_JSON");
  });
});
