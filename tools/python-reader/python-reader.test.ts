import { beforeAll, describe, expect, it } from "vitest";
import { ensurePythonReaderEnv, runPython } from "./test/support/python-env";

// The reader's own tests: the READMEs' tables and examples (fingerprints, record fields, RFC3339Nano,
// the dedup key, trimming, clamping, Go's JSON), Avro resolution of version-1 records, and the manifest
// rule on generations it writes itself. Its run against a real aggregator is
// services/aggregator/test/python-reader.int.test.ts.
describe("tools/python-reader (written from the specification)", () => {
  let python = "";
  beforeAll(() => {
    python = ensurePythonReaderEnv();
  }, 600_000);

  it("passes its Python tests", async () => {
    const run = await runPython(python, ["-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"]);
    expect(run.stderr).toMatch(/^OK$/m);
    expect(run.code, run.stderr).toBe(0);
    // Every test module ran (an import error would show as a failed test, an empty discovery as "Ran 0").
    expect(run.stderr).not.toMatch(/Ran 0 tests/);
  }, 300_000);
});
