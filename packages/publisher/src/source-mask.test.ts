import { RequestStatistics, parseRfc3339 } from "@usage-ledger/statistics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usageRecord } from "../test/support/records";
import { looksLikeApiKey, maskSource } from "./source-mask";

/** Keys in the shapes upstream providers issue (made up, never real). */
const KEYS = [
  "sk-ant-api03-Jx9aQ2LmZr7Yt4Vb8Nc1Kd6Hs3Pw5Fg0Ue2Io7Ay",
  "sk-proj-4fT9uQx2LrB7mN1cV8zK3pW6yH0sJ5dG",
  "sk-or-v1-0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
  "sk-1234567890abcdefghijklmnop",
  "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
  "gsk_9Xy8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf",
  "xai-Q2w3E4r5T6y7U8i9O0pAsDfGhJkLzX",
  // No vendor prefix: 40 hex digits, a mixed-case token, a JWT.
  "3f9c2e7d1a0b4c5d6e7f8091a2b3c4d5e6f70819",
  "Ab3dEf6hIj9kLm2nOp5q",
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
];

/** Sources CLIProxyAPI writes for OAuth credentials and other labels that are not secrets. */
const NOT_KEYS = [
  "",
  "alice@example.com",
  "acct-2@example.com",
  "proj-7",
  "my-gcp-project-123456",
  "gemini-cli-user-project",
  "/home/proxy/.cli-proxy-api/gemini-alice@example.com.json",
  "codex alice example",
  "sk-short",
  "short-Token-1",
  "sk-ant-\u2026Q7wx#3f9c2e7d1a0b",
];

describe("looksLikeApiKey", () => {
  it.each(KEYS)("takes %s for a key", (key) => {
    expect(looksLikeApiKey(key)).toBe(true);
  });
  it.each(NOT_KEYS)("does not take %j for a key", (source) => {
    expect(looksLikeApiKey(source)).toBe(false);
  });
});

describe("maskSource", () => {
  it("keeps the vendor prefix and the last four characters, adds a 12-digit fingerprint, and hides the rest", () => {
    const masked = maskSource("sk-ant-api03-Jx9aQ2LmZr7Yt4Vb8Nc1Kd6Hs3Pw5Fg0Ue2Io7Ay");
    expect(masked).toMatch(/^sk-ant-api03-\u2026o7Ay#[0-9a-f]{12}$/);
    expect(maskSource("3f9c2e7d1a0b4c5d6e7f8091a2b3c4d5e6f70819")).toMatch(/^\u20260819#[0-9a-f]{12}$/);
    for (const key of KEYS) {
      const value = maskSource(key);
      expect(value).not.toContain(key.slice(-12, -4));
      expect(value.length).toBeLessThan(key.length + 20);
    }
  });

  it("is the same value for the same key every time (a fixed vector: stable across processes and releases)", () => {
    expect(maskSource("sk-1234567890abcdefghijklmnop")).toBe(maskSource("sk-1234567890abcdefghijklmnop"));
    // Pinned: a change here changes every masked value in every ledger (a new mask version).
    expect(maskSource("sk-1234567890abcdefghijklmnop")).toBe("sk-\u2026mnop#35e8fbffc3ca");
    expect(maskSource("sk-1234567890abcdefghijklmnop", { salt: "fleet-salt" })).toBe("sk-\u2026mnop#dca94d750a3b");
  });

  it("gives different keys different values, and a salt changes the fingerprint", () => {
    const values = KEYS.map((key) => maskSource(key));
    expect(new Set(values).size).toBe(KEYS.length);
    const salted = KEYS.map((key) => maskSource(key, { salt: "fleet-salt" }));
    expect(salted.every((value, index) => value !== values[index])).toBe(true);
    expect(KEYS.map((key) => maskSource(key, { salt: "" }))).toEqual(values);
  });

  it("leaves sources that are not keys as they are, and is idempotent", () => {
    for (const source of NOT_KEYS) expect(maskSource(source)).toBe(source);
    for (const key of KEYS) expect(maskSource(maskSource(key))).toBe(maskSource(key));
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.option(fc.string({ maxLength: 12 }), { nil: undefined }), (source, salt) => {
        const options = salt === undefined ? {} : { salt };
        const once = maskSource(source, options);
        expect(maskSource(once, options)).toBe(once);
        expect(once === source).toBe(!looksLikeApiKey(source));
      }),
    );
  });

  it("keeps the statistics of masked records grouped per key, and their dedup keys stable", () => {
    const at = parseRfc3339("2026-01-10T14:46:59.123456789+08:00");
    const raw = [KEYS[0] ?? "", KEYS[0] ?? "", KEYS[1] ?? ""].map((source, index) =>
      usageRecord({
        source,
        timestamp: at,
        tokens: { inputTokens: index + 1, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
      }),
    );
    const masked = (records: typeof raw) => records.map((record) => ({ ...record, source: maskSource(record.source) }));
    const statistics = new RequestStatistics();
    expect(masked(raw).map((record) => statistics.apply(record))).toEqual(["added", "added", "added"]);
    // The same records masked again (another bridge, or after a restart) are duplicates.
    expect(masked(raw).map((record) => statistics.apply(record))).toEqual(["duplicate", "duplicate", "duplicate"]);
    const sources = new Set(
      Object.values(statistics.snapshot().apis).flatMap((api) =>
        Object.values(api.models).flatMap((model) => model.details.map((detail) => detail.source)),
      ),
    );
    expect(sources).toEqual(new Set([maskSource(KEYS[0] ?? ""), maskSource(KEYS[1] ?? "")]));
  });
});
