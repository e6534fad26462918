import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_PRICES_FILE, defaultPricesJson } from "./default-prices";

describe("the default price table", () => {
  it("is what @pydantic/genai-prices gives (run `pnpm prices:update` after upgrading it)", () => {
    expect(readFileSync(DEFAULT_PRICES_FILE, "utf8")).toBe(defaultPricesJson());
  });
});
