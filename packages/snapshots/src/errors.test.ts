import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isRetryableSnapshotCode, isSnapshotError, SNAPSHOT_ERROR_CODES, SnapshotError } from "./errors";

/** The rows of the "Error codes" table of README.md: code and whether it is documented retryable. */
function documentedCodes(): Array<{ code: string; retryable: boolean }> {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.split("\n## Error codes")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| `(SNAPSHOT_[A-Z_]+)` \| (yes|no) \|/gm)].map((match) => ({
    code: match[1] ?? "",
    retryable: match[2] === "yes",
  }));
}

describe("SnapshotError", () => {
  it("documents exactly the codes the package has, each once, with the same retryability", () => {
    const documented = documentedCodes();
    expect(new Set(documented.map((row) => row.code)).size).toBe(documented.length);
    expect(documented.map((row) => row.code).sort()).toEqual([...SNAPSHOT_ERROR_CODES].sort());
    for (const row of documented)
      expect(isRetryableSnapshotCode(row.code as (typeof SNAPSHOT_ERROR_CODES)[number]), row.code).toBe(row.retryable);
  });

  it("is flat, coded, and retryable only for Kafka failures", () => {
    const cause = new Error("broker down");
    const error = new SnapshotError("SNAPSHOT_WRITE_FAILED", "generation 3: broker down", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "SnapshotError",
      code: "SNAPSHOT_WRITE_FAILED",
      retryable: true,
      message: "generation 3: broker down",
      cause,
    });
    expect(new SnapshotError("SNAPSHOT_CHECKSUM_MISMATCH", "x").retryable).toBe(false);
    expect(isSnapshotError(error)).toBe(true);
    expect(isSnapshotError(error, "SNAPSHOT_WRITE_FAILED")).toBe(true);
    expect(isSnapshotError(error, "SNAPSHOT_READ_FAILED")).toBe(false);
    expect(isSnapshotError(cause)).toBe(false);
  });
});
