import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isStatisticsError, STATISTICS_ERROR_CODES, StatisticsError } from "./errors";

describe("error codes", () => {
  it("are the codes documented in README.md, no more and no fewer", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Error codes"));
    const documented = [...section.matchAll(/^\| `(STATS_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...documented].sort()).toEqual([...STATISTICS_ERROR_CODES].sort());
  });

  it("are carried by a flat, never retryable error", () => {
    const error = new StatisticsError("STATS_INVALID_JSON", "invalid json");
    expect(error).toBeInstanceOf(Error);
    expect({ name: error.name, code: error.code, retryable: error.retryable, message: error.message }).toEqual({
      name: "StatisticsError",
      code: "STATS_INVALID_JSON",
      retryable: false,
      message: "invalid json",
    });
    expect(isStatisticsError(error)).toBe(true);
    expect(isStatisticsError(error, "STATS_INVALID_JSON")).toBe(true);
    expect(isStatisticsError(error, "STATS_INVALID_RANGE")).toBe(false);
    expect(isStatisticsError(new Error("other"))).toBe(false);
  });
});
