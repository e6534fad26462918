import { execFileSync } from "node:child_process";
import { readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

/** Every package's entry point, as `pnpm start` and the services load it: plain Node with tsx, not vitest. */
const entryPoints = ["packages", "services"].flatMap((folder) =>
  readdirSync(join(root, folder))
    .map((name) => join(folder, name, "src", "index.ts"))
    .filter((path) => existsSync(join(root, path))),
);

describe("entry points under plain Node", () => {
  // vitest resolves CommonJS named exports that Node's ESM loader cannot (kafkajs's
  // ConfigResourceTypes once broke `pnpm start` while every test passed).
  it.each(entryPoints)("%s loads", (path) => {
    const output = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", `await import(${JSON.stringify(join(root, path))}); console.log("loaded");`],
      { cwd: root, encoding: "utf8" },
    );
    expect(output.trim()).toBe("loaded");
  });
});
