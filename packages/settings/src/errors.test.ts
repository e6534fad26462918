import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_ERROR_CODES, ConfigError } from "./errors";

describe("settings error codes", () => {
  it("README.md documents exactly the codes in the code", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Errors"));
    const documented = [...section.matchAll(/^\| `(CONFIG_[A-Z_]+)` \| (yes|no) \|/gm)].map((match) => [match[1], match[2] === "yes"]);
    expect(documented.map(([code]) => code).sort()).toEqual([...CONFIG_ERROR_CODES].sort());
    for (const [code, retryable] of documented) {
      expect(new ConfigError(code as (typeof CONFIG_ERROR_CODES)[number], ["x"]).retryable).toBe(retryable);
    }
  });
});
