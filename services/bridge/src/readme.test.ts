import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * Issue 15, acceptance 5: every CLIProxyAPI setting the README names exists in that release's
 * config.example.yaml, as kept in test/fixtures/cliproxyapi-settings.json (read from the tags'
 * module zips; the fixture cites them).
 */
interface Fixture {
  readonly releases: Readonly<Record<string, { readonly source: string; readonly sha256: string; readonly settings: readonly string[] }>>;
}

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const fixture = JSON.parse(readFileSync(new URL("../test/fixtures/cliproxyapi-settings.json", import.meta.url), "utf8")) as Fixture;

/** Words of the operator section that look like setting names but are the bridge's own. */
const BRIDGE_TERMS = new Set(["auth-failed", "config.example.yaml", "usage.records.dlq", "spool.damaged", "spool.failing"]);

/** The dotted key paths set in a YAML block (mappings only, two-space indentation, as the README writes them). */
function keyPaths(yaml: string): string[] {
  const paths: string[] = [];
  const stack: Array<{ indent: number; key: string }> = [];
  for (const line of yaml.split("\n")) {
    const match = /^( *)([A-Za-z0-9_-]+):/.exec(line);
    if (match === null) continue;
    const indent = match[1]?.length ?? 0;
    while ((stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
    stack.push({ indent, key: match[2] ?? "" });
    paths.push(stack.map((entry) => entry.key).join("."));
  }
  return paths;
}

/** The YAML blocks marked `<!-- cliproxyapi <release> -->`, with their release. */
function markedBlocks(): Array<{ release: string; paths: string[] }> {
  return [...readme.matchAll(/<!-- cliproxyapi (v[\d.]+) -->\n```yaml\n([\s\S]*?)```/g)].map((match) => ({
    release: match[1] ?? "",
    paths: keyPaths(match[2] ?? ""),
  }));
}

describe("README: CLIProxyAPI settings exist in the release they are given for", () => {
  it("the fixture holds both releases' setting names and cites where they come from", () => {
    expect(Object.keys(fixture.releases).sort()).toEqual(["v6.9.49", "v7.2.140"]);
    for (const release of Object.values(fixture.releases)) {
      expect(release.source).toMatch(/github\.com\/router-for-me\/CLIProxyAPI/);
      expect(release.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(release.settings).toContain("usage-statistics-enabled");
    }
    // The retention setting came with the queue of later releases.
    expect(fixture.releases["v6.9.49"]?.settings).not.toContain("redis-usage-queue-retention-seconds");
    expect(fixture.releases["v7.2.140"]?.settings).toContain("redis-usage-queue-retention-seconds");
  });

  it("every setting of an era's config block is in that era's config.example.yaml", () => {
    const blocks = markedBlocks();
    expect(blocks.map((block) => block.release)).toEqual(["v6.9.49", "v7.2.140"]);
    for (const block of blocks) {
      const known = new Set(fixture.releases[block.release]?.settings ?? []);
      expect({ release: block.release, unknown: block.paths.filter((path) => !known.has(path)) }).toEqual({
        release: block.release,
        unknown: [],
      });
      expect(block.paths.length).toBeGreaterThanOrEqual(3);
    }
  });

  it("every setting named in the operator section exists in a release (no observability block anywhere)", () => {
    const start = readme.indexOf("## For CLIProxyAPI operators");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    const known = new Set(Object.values(fixture.releases).flatMap((release) => release.settings));
    const named = [...section.matchAll(/`([^`\n]+)`/g)]
      .map((match) => (match[1] ?? "").replace(/:.*$/, "").trim())
      .filter((word) => /^[a-z][a-z0-9]*(?:[-.][a-z0-9]+)+$/.test(word) && !/^v\d/.test(word) && !BRIDGE_TERMS.has(word));
    expect(named.length).toBeGreaterThanOrEqual(5);
    expect(named.filter((word) => !known.has(word))).toEqual([]);
    expect(readme).not.toMatch(/observability\.usage|^\s*observability:/m);
  });
});
