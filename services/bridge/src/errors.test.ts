import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BRIDGE_ERROR_CODES, BridgeError, isBridgeError, type BridgeErrorCode } from "./errors";

/** Rows of the README's error table: code and retryable ("yes"/"no"). */
function documentedCodes(): Array<[string, boolean]> {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Errors"));
  return [...section.matchAll(/^\| `(BRIDGE_[A-Z_]+)` \| (yes|no) \|/gm)].map((match) => [match[1] ?? "", match[2] === "yes"]);
}

describe("bridge error codes", () => {
  it("README.md documents exactly the codes in the code, with the same retryable flag", () => {
    const documented = documentedCodes();
    expect(documented.map(([code]) => code).sort()).toEqual([...BRIDGE_ERROR_CODES].sort());
    expect(documented).toEqual(documented.map(([code]) => [code, new BridgeError(code as BridgeErrorCode, "x").retryable]));
  });

  it("is a flat error with code, retryable (overridable per instance) and cause", () => {
    const cause = new Error("ECONNRESET");
    const error = new BridgeError("BRIDGE_HTTP_ERROR", "HTTP 404", { cause, retryable: false });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.retryable, error.cause, error.message]).toEqual([
      "BridgeError",
      "BRIDGE_HTTP_ERROR",
      false,
      cause,
      "HTTP 404",
    ]);
    expect(isBridgeError(error)).toBe(true);
    expect(isBridgeError(error, "BRIDGE_TIMEOUT")).toBe(false);
    expect(isBridgeError(cause)).toBe(false);
  });
});
