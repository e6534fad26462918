import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WIRE_ERROR_CODES, WireError, isWireError } from "./errors";

/** The codes listed in the "Error codes" table of README.md. */
function documentedCodes(): string[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.split("## Error codes")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| `(WIRE_[A-Z_]+)` \|/gm)].map((match) => match[1] ?? "");
}

describe("WireError", () => {
  it("documents exactly the codes the package has, each once", () => {
    const documented = documentedCodes();
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...WIRE_ERROR_CODES].sort());
  });

  it("is flat, coded and never retryable", () => {
    const error = new WireError("WIRE_TRUNCATED", "body ends early");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("WireError");
    expect(error.code).toBe("WIRE_TRUNCATED");
    expect(error.retryable).toBe(false);
    expect(error.message).toBe("body ends early");
    expect(isWireError(error)).toBe(true);
    expect(isWireError(error, "WIRE_TRUNCATED")).toBe(true);
    expect(isWireError(error, "WIRE_BAD_MARKER")).toBe(false);
    expect(isWireError(new Error("x"))).toBe(false);
  });
});
