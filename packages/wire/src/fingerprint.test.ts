import { createHash } from "node:crypto";
import avsc from "avsc";
import { describe, expect, it } from "vitest";
import { parsingCanonicalForm } from "./canonical-form";
import { crc64Avro, fingerprintFromHex, fingerprintToHex, schemaFingerprint, singleObjectHeader } from "./fingerprint";
import { schemaFiles } from "./schema-files";
import { expectWireError } from "../test/support/fixtures";

/**
 * Reference vectors of Apache Avro, `share/test/data/schema-tests.txt` (apache/avro, commit
 * 0ea74a36cebb2e5fbc37e599814a05c33cb7d424; cross-checked there by the Java implementation's
 * direct fingerprint algorithm): input schema, its Parsing Canonical Form, and the CRC-64-AVRO
 * fingerprint as a signed Java long where the file gives one. Numbered as in the file.
 */
const SCHEMA_TESTS: readonly { id: string; input: string; canonical: string; fingerprint?: string }[] = [
  { id: "000", input: `"null"`, canonical: `"null"`, fingerprint: "7195948357588979594" },
  { id: "001", input: `{"type":"null"}`, canonical: `"null"` },
  { id: "002", input: `"boolean"`, canonical: `"boolean"`, fingerprint: "-6970731678124411036" },
  { id: "003", input: `{"type":"boolean"}`, canonical: `"boolean"` },
  { id: "004", input: `"int"`, canonical: `"int"`, fingerprint: "8247732601305521295" },
  { id: "005", input: `{"type":"int"}`, canonical: `"int"` },
  { id: "006", input: `"long"`, canonical: `"long"`, fingerprint: "-3434872931120570953" },
  { id: "007", input: `{"type":"long"}`, canonical: `"long"` },
  { id: "008", input: `"float"`, canonical: `"float"`, fingerprint: "5583340709985441680" },
  { id: "009", input: `{"type":"float"}`, canonical: `"float"` },
  { id: "010", input: `"double"`, canonical: `"double"`, fingerprint: "-8181574048448539266" },
  { id: "011", input: `{"type":"double"}`, canonical: `"double"` },
  { id: "012", input: `"bytes"`, canonical: `"bytes"`, fingerprint: "5746618253357095269" },
  { id: "013", input: `{"type":"bytes"}`, canonical: `"bytes"` },
  { id: "014", input: `"string"`, canonical: `"string"`, fingerprint: "-8142146995180207161" },
  { id: "015", input: `{"type":"string"}`, canonical: `"string"` },
  { id: "016", input: `[  ]`, canonical: `[]`, fingerprint: "-1241056759729112623" },
  { id: "017", input: `[ "int"  ]`, canonical: `["int"]`, fingerprint: "-5232228896498058493" },
  { id: "018", input: `[ "int" , {"type":"boolean"} ]`, canonical: `["int","boolean"]`, fingerprint: "5392556393470105090" },
  {
    id: "019",
    input: `{"fields":[], "type":"record", "name":"foo"}`,
    canonical: `{"name":"foo","type":"record","fields":[]}`,
    fingerprint: "-4824392279771201922",
  },
  {
    id: "020",
    input: `{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}`,
    canonical: `{"name":"x.y.foo","type":"record","fields":[]}`,
    fingerprint: "5916914534497305771",
  },
  {
    id: "021",
    input: `{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}`,
    canonical: `{"name":"a.b.foo","type":"record","fields":[]}`,
    fingerprint: "-4616218487480524110",
  },
  {
    id: "022",
    input: `{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}`,
    canonical: `{"name":"foo","type":"record","fields":[]}`,
    fingerprint: "-4824392279771201922",
  },
  {
    id: "023",
    input: `{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}`,
    canonical: `{"name":"foo","type":"record","fields":[]}`,
    fingerprint: "-4824392279771201922",
  },
  {
    id: "024",
    input: `{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}`,
    canonical: `{"name":"foo","type":"record","fields":[]}`,
    fingerprint: "-4824392279771201922",
  },
  {
    id: "025",
    input: `{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}`,
    canonical: `{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}`,
    fingerprint: "7843277075252814651",
  },
  {
    id: "026",
    input: `{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},
            {"order":"descending","name":"f2","doc":"Hello","type":"int"}],
  "type":"record", "name":"foo"
}`,
    canonical: `{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}`,
    fingerprint: "-4860222112080293046",
  },
  {
    id: "027",
    input: `{"type":"enum", "name":"foo", "symbols":["A1"]}`,
    canonical: `{"name":"foo","type":"enum","symbols":["A1"]}`,
    fingerprint: "-6342190197741309591",
  },
  {
    id: "028",
    input: `{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}`,
    canonical: `{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}`,
    fingerprint: "-4448647247586288245",
  },
  {
    id: "029",
    input: `{"name":"foo","type":"fixed","size":15}`,
    canonical: `{"name":"foo","type":"fixed","size":15}`,
    fingerprint: "1756455273707447556",
  },
  {
    id: "030",
    input: `{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}`,
    canonical: `{"name":"x.y.z.foo","type":"fixed","size":32}`,
    fingerprint: "-3064184465700546786",
  },
  {
    id: "031",
    input: `{ "items":{"type":"null"}, "type":"array"}`,
    canonical: `{"type":"array","items":"null"}`,
    fingerprint: "-589620603366471059",
  },
  {
    id: "032",
    input: `{ "values":"string", "type":"map"}`,
    canonical: `{"type":"map","values":"string"}`,
    fingerprint: "-8732877298790414990",
  },
  {
    id: "033",
    input: `{"name":"PigValue","type":"record",
   "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}`,
    canonical: `{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}`,
    fingerprint: "-1759257747318642341",
  },
];

/** A Java long (signed) as the unsigned 64-bit value our functions return. */
function unsigned(javaLong: string): bigint {
  return BigInt.asUintN(64, BigInt(javaLong));
}

describe("Parsing Canonical Form", () => {
  it.each(SCHEMA_TESTS)("schema-tests.txt $id", ({ input, canonical }) => {
    expect(parsingCanonicalForm(JSON.parse(input))).toBe(canonical);
  });

  it("qualifies nested names with the enclosing namespace and writes a repeated named type as its full name", () => {
    const schema = {
      type: "record",
      name: "Outer",
      namespace: "a.b",
      doc: "dropped",
      fields: [
        {
          name: "t1",
          type: { type: "record", name: "Inner", fields: [{ name: "x", type: { type: "long", logicalType: "timestamp-micros" } }] },
        },
        { name: "t2", type: "Inner", default: null },
        { name: "t3", type: "a.b.Inner" },
        { name: "e", type: { type: "enum", name: "E", namespace: "", symbols: ["X"] } },
        { name: "e2", type: ["null", "E"] },
        { name: "m", type: { type: "map", values: { type: "fixed", name: "F", size: 4, logicalType: "decimal", precision: 4 } } },
      ],
    };
    expect(parsingCanonicalForm(schema)).toBe(
      `{"name":"a.b.Outer","type":"record","fields":[` +
        `{"name":"t1","type":{"name":"a.b.Inner","type":"record","fields":[{"name":"x","type":"long"}]}},` +
        `{"name":"t2","type":"a.b.Inner"},{"name":"t3","type":"a.b.Inner"},` +
        `{"name":"e","type":{"name":"E","type":"enum","symbols":["X"]}},{"name":"e2","type":["null","E"]},` +
        `{"name":"m","type":{"type":"map","values":{"name":"a.b.F","type":"fixed","size":4}}}]}`,
    );
  });

  it("refuses what is not an Avro schema with WIRE_INVALID_SCHEMA", () => {
    const invalid = [
      42,
      null,
      { type: 7 },
      { type: "record", name: "r" },
      { type: "record", name: "1r", fields: [] },
      { type: "enum", name: "e", symbols: ["not valid"] },
      { type: "fixed", name: "f", size: -1 },
      { type: "array" },
      "Unknown",
      { type: "record", name: "r", fields: [{ name: "a", type: { type: "record", name: "r", fields: [] } }] },
    ];
    for (const schema of invalid) {
      expectWireError(() => parsingCanonicalForm(schema), "WIRE_INVALID_SCHEMA");
    }
  });

  it("agrees with avsc's canonical form (avsc's default fingerprint is the MD5 of it) for our schemas", () => {
    for (const [file, schema] of Object.entries(schemaFiles)) {
      const md5 = createHash("md5").update(parsingCanonicalForm(schema)).digest("hex");
      expect(md5, file).toBe(
        avsc.Type.forSchema(schema as avsc.Schema)
          .fingerprint()
          .toString("hex"),
      );
    }
  });
});

describe("CRC-64-AVRO", () => {
  const withFingerprint = SCHEMA_TESTS.filter((test) => test.fingerprint !== undefined);

  it.each(withFingerprint)("schema-tests.txt $id: fingerprint $fingerprint", ({ input, fingerprint }) => {
    expect(schemaFingerprint(JSON.parse(input))).toBe(unsigned(fingerprint ?? ""));
  });

  it('gives the published fingerprint of "string": 0x8f014872634503c7 (also linkedin/goavro crc64avro_test.go)', () => {
    expect(fingerprintToHex(schemaFingerprint("string"))).toBe("8f014872634503c7");
    expect(fingerprintToHex(crc64Avro(Buffer.from('"int"')))).toBe("7275d51a3f395c8f");
  });

  it('writes the single-object header of Avro\'s Ruby test (test_fingerprints.rb) for "int"', () => {
    expect([...singleObjectHeader(schemaFingerprint({ type: "int" }))]).toEqual([
      0xc3, 0x01, 0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72,
    ]);
  });

  it("gives the empty input the algorithm's empty value", () => {
    expect(crc64Avro(new Uint8Array(0))).toBe(0xc15d213aa4d7a795n);
  });

  it("converts fingerprints to and from 16 lowercase hex digits", () => {
    for (const test of withFingerprint) {
      const fp = unsigned(test.fingerprint ?? "");
      expect(fingerprintFromHex(fingerprintToHex(fp))).toBe(fp);
    }
    expect(fingerprintToHex(1n)).toBe("0000000000000001");
    expect(fingerprintFromHex("8F014872634503C7")).toBeUndefined();
    expect(fingerprintFromHex("8f01")).toBeUndefined();
  });
});
