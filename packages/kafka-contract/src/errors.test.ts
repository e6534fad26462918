import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KAFKA_CONTRACT_ERROR_CODES, KafkaContractError } from "./errors";

describe("kafka-contract error codes", () => {
  it("README.md documents exactly the codes in the code, with the same retryable flag", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Errors"));
    const documented = [...section.matchAll(/^\| `(KAFKA_[A-Z_]+)` \| (yes|no) \|/gm)].map((match) => [match[1], match[2] === "yes"]);
    expect(documented.map(([code]) => code).sort()).toEqual([...KAFKA_CONTRACT_ERROR_CODES].sort());
    for (const [code, retryable] of documented) {
      expect(new KafkaContractError(code as (typeof KAFKA_CONTRACT_ERROR_CODES)[number], "x").retryable).toBe(retryable);
    }
  });
});
