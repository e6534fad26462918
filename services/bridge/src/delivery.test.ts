import { maskSource } from "@usage-ledger/publisher";
import { describe, expect, it } from "vitest";
import { maskRawSources } from "./delivery";

const KEY = "sk-ant-api03-Jx9aQ2LmZr7Yt4Vb8Nc1Kd6Hs3Pw5Fg0Ue2Io7Ay";

describe("maskRawSources: the bytes of a dead letter with its API-key sources masked", () => {
  it("masks every source string that looks like a key and keeps every other byte", () => {
    const raw = Buffer.from(`{"timestamp":"x","source" : "${KEY}","tokens":{"input_tokens":1e999},"nested":{"source":"${KEY}"}}`);
    expect(maskRawSources(raw, {}).toString()).toBe(
      `{"timestamp":"x","source" : "${maskSource(KEY)}","tokens":{"input_tokens":1e999},"nested":{"source":"${maskSource(KEY)}"}}`,
    );
    expect(maskRawSources(raw, { salt: "s" }).toString()).toContain(maskSource(KEY, { salt: "s" }));
  });

  it("returns the very same bytes when nothing is masked (e-mail sources, not JSON, escaped quotes)", () => {
    for (const text of [
      `{"source":"alice@example.com"}`,
      `{"source":`,
      `not json at all`,
      `{"source":"a \\"quoted\\" name"}`,
      `{"source":5}`,
    ]) {
      const raw = Buffer.from(text);
      expect(maskRawSources(raw, {})).toBe(raw);
    }
  });
});
