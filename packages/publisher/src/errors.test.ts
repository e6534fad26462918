import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PUBLISHER_ERROR_CODES, PublisherError, isPublisherError } from "./errors";

/** Rows of the README's error table: code and retryable ("yes"/"no"). */
function documentedCodes(): Array<[string, boolean]> {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Errors"));
  return [...section.matchAll(/^\| `(PUBLISHER_[A-Z_]+)` \| (yes|no) \|/gm)].map((match) => [match[1] ?? "", match[2] === "yes"]);
}

describe("publisher error codes", () => {
  it("README.md documents exactly the codes in the code, with the same retryable flag", () => {
    const documented = documentedCodes();
    expect(documented.map(([code]) => code).sort()).toEqual([...PUBLISHER_ERROR_CODES].sort());
    expect(documented).toEqual(
      documented.map(([code]) => [code, new PublisherError(code as (typeof PUBLISHER_ERROR_CODES)[number], "x").retryable]),
    );
  });

  it("is a flat error with code, retryable, wireCode and cause", () => {
    const cause = new Error("underneath");
    const error = new PublisherError("PUBLISHER_INVALID_RECORD", "bad", { cause, wireCode: "WIRE_NEGATIVE_TOKENS" });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.retryable, error.wireCode, error.cause]).toEqual([
      "PublisherError",
      "PUBLISHER_INVALID_RECORD",
      false,
      "WIRE_NEGATIVE_TOKENS",
      cause,
    ]);
    expect(isPublisherError(error)).toBe(true);
    expect(isPublisherError(error, "PUBLISHER_CLOSED")).toBe(false);
    expect(isPublisherError(cause)).toBe(false);
  });
});
