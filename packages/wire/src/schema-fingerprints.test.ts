import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { detailChunkSchema, snapshotManifestSchema, usageRecordSchema } from "./index";
import { fingerprintToBytes, fingerprintToHex, schemaFingerprint } from "./fingerprint";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const schemasFolder = new URL("../../../schemas/", import.meta.url);

/** Rows of the README's fingerprint table: file, full name, fingerprint as an integer, header bytes. */
function documentedFingerprints(): Map<string, { name: string; integer: string; bytes: string }> {
  const section = readme.split("## Schema versions and fingerprints")[1]?.split("\n## ")[0] ?? "";
  const rows = [...section.matchAll(/^\| `([a-z0-9-]+\.avsc)` \| `([\w.]+)` \| [^|]+ \| `([0-9a-f]{16})` \| `([0-9a-f ]+)` \|$/gm)];
  return new Map(rows.map(([, file, name, integer, bytes]) => [file!, { name: name!, integer: integer!, bytes: bytes! }]));
}

function fullName(schema: { name: string; namespace?: string }): string {
  return schema.namespace === undefined ? schema.name : `${schema.namespace}.${schema.name}`;
}

describe("README.md's fingerprint table", () => {
  it("has one row per schema file, with the fingerprint the file has (integer and header bytes)", () => {
    const documented = documentedFingerprints();
    const files = readdirSync(schemasFolder).filter((file) => file.endsWith(".avsc"));
    expect([...documented.keys()].sort()).toEqual(files.sort());
    for (const file of files) {
      const schema = JSON.parse(readFileSync(new URL(file, schemasFolder), "utf8")) as { name: string; namespace?: string };
      const fingerprint = schemaFingerprint(schema);
      const hex = [...fingerprintToBytes(fingerprint)].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
      expect({ file, ...documented.get(file) }).toEqual({
        file,
        name: fullName(schema),
        integer: fingerprintToHex(fingerprint),
        bytes: hex,
      });
    }
  });

  it("names the fingerprints the codecs write", () => {
    const documented = documentedFingerprints();
    expect(documented.get("usage-record.avsc")?.integer).toBe(usageRecordSchema.fingerprintHex);
    expect(documented.get("snapshot-chunk.avsc")?.integer).toBe(detailChunkSchema.fingerprintHex);
    expect(documented.get("snapshot-manifest.avsc")?.integer).toBe(snapshotManifestSchema.fingerprintHex);
  });

  it("gives the CRC-64-AVRO test vector it states", () => {
    expect(readme).toContain('the schema `"string"` has the fingerprint `0x8f014872634503c7`');
    expect(fingerprintToHex(schemaFingerprint("string"))).toBe("8f014872634503c7");
  });
});
