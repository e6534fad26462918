import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

/** Lints `code` as if it were a file at `relativePath` in the repository, and returns the rule ids hit. */
async function ruleIdsFor(relativePath: string, code: string): Promise<string[]> {
  // Type-aware rules need the file on disk, inside the tsconfig's include globs.
  const file = join(root, relativePath.replace("PROBE", `lint-probe-${randomBytes(4).toString("hex")}`));
  writeFileSync(file, code);
  try {
    const eslint = new ESLint({ cwd: root });
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
  } finally {
    rmSync(file, { force: true });
  }
}

describe("the lint configuration", () => {
  it("fails on a floating promise", async () => {
    const ids = await ruleIdsFor(
      "packages/publisher/src/PROBE.ts",
      "async function send(): Promise<void> {}\nexport function publish(): void {\n  send();\n}\n",
    );
    expect(ids).toContain("@typescript-eslint/no-floating-promises");
  });

  it("passes the same code once the promise is awaited", async () => {
    const ids = await ruleIdsFor(
      "packages/publisher/src/PROBE.ts",
      "async function send(): Promise<void> {}\nexport async function publish(): Promise<void> {\n  await send();\n}\n",
    );
    expect(ids).toEqual([]);
  });

  it("fails on an import of kafkajs, pino, avsc or node:* into packages/statistics", async () => {
    for (const module of ["kafkajs", "pino", "avsc", "node:fs", "fs"]) {
      const ids = await ruleIdsFor(
        "packages/statistics/src/PROBE.ts",
        `import * as io from "${module}";\nexport const probe: unknown = io;\n`,
      );
      expect(ids, module).toContain("no-restricted-imports");
    }
  });

  it("fails on a test framework imported into shipped code, in every package (helpers belong in test/support/)", async () => {
    for (const place of ["packages/statistics/src", "packages/wire/src", "services/aggregator/src"]) {
      for (const module of ["vitest", "fast-check"]) {
        const ids = await ruleIdsFor(
          `${place}/PROBE.ts`,
          `import * as framework from "${module}";\nexport const probe: unknown = framework;\n`,
        );
        expect(ids, `${module} in ${place}`).toContain("no-restricted-imports");
      }
    }
  });

  it("still bans I/O in packages/statistics next to the test-framework rule", async () => {
    const ids = await ruleIdsFor("packages/statistics/src/PROBE.ts", `import * as io from "node:fs";\nexport const probe: unknown = io;\n`);
    expect(ids).toContain("no-restricted-imports");
  });

  it("fails on a switch that misses a member of a union", async () => {
    const ids = await ruleIdsFor(
      "packages/publisher/src/PROBE.ts",
      'export function name(kind: "a" | "b"): string {\n  switch (kind) {\n    case "a":\n      return "A";\n  }\n  return "?";\n}\n',
    );
    expect(ids).toContain("@typescript-eslint/switch-exhaustiveness-check");
  });
});
