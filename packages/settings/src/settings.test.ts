import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors";
import { kind } from "./kinds";
import { defineSettings } from "./settings";
import type { FileContents, SettingSources } from "./settings";

/** A table with one setting of each shape. */
const settings = defineSettings({
  port: { env: "APP_PORT", flag: "port", ...kind.integer(0, 65_535), default: "8318", doc: "The port." },
  rate: { env: "APP_RATE", flag: "rate", ...kind.decimal({ min: 0, max: 10, minExclusive: true }), default: "2.5", doc: "A rate." },
  name: { env: "APP_NAME", flag: "name", ...kind.text(), unset: "(the host name)", doc: "A name." },
  topic: { env: "APP_TOPIC", flag: "topic", ...kind.topic(), default: "usage.records", doc: "A topic." },
  level: { env: "APP_LOG_LEVEL", flag: "log-level", ...kind.logLevel(), default: "info", doc: "A level." },
  demo: { env: "APP_DEMO", flag: "demo", ...kind.boolean(), default: "true", doc: "A switch." },
  hosts: { env: "APP_HOSTS", flag: "hosts", ...kind.list({ values: "host list" }), default: "", doc: "Hosts." },
  password: { env: "APP_PASSWORD", flag: "password", ...kind.exactText(), secret: true, unset: "(none)", doc: "A secret." },
  caFile: { env: "APP_CA_FILE", flag: "ca-file", ...kind.file(), unset: "(none)", doc: "A CA file." },
  node: {
    env: "APP_NODES",
    flag: "node",
    ...kind.text(),
    repeated: { splitEnv: (text) => (JSON.parse(text) as string[]).map(String), envFormat: "a JSON list of strings" },
    unset: "(none)",
    doc: "Nodes.",
  },
});

const files: Record<string, string> = { "/secret": "s3cret\n", "/ca.pem": "-----BEGIN CERTIFICATE-----\n" };
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
  return text;
};

function load(env: Record<string, string> = {}, argv: string[] = []) {
  const result = settings.load({ env, argv, readFile } satisfies SettingSources);
  if (result.kind !== "values") throw new Error("expected values");
  return result.values;
}

function problemsOf(env: Record<string, string>, argv: string[] = []): { code: string; problems: readonly string[] } {
  try {
    settings.load({ env, argv, readFile });
  } catch (error) {
    if (error instanceof ConfigError) return { code: error.code, problems: error.problems };
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("defineSettings: load", () => {
  it("gives every default, and undefined or an empty list where there is none", () => {
    expect(load()).toEqual({
      port: 8318,
      rate: 2.5,
      name: undefined,
      topic: "usage.records",
      level: "info",
      demo: true,
      hosts: [],
      password: undefined,
      caFile: undefined,
      node: [],
    });
  });

  it("reads variables; flags win in both --flag value and --flag=value forms; --no-x turns a switch off", () => {
    const env = { APP_PORT: "1", APP_RATE: "1e-1", APP_NAME: " n ", APP_DEMO: "off", APP_HOSTS: "a, b,,c", APP_LOG_LEVEL: "warn" };
    expect(load(env)).toMatchObject({ port: 1, rate: 0.1, name: "n", demo: false, hosts: ["a", "b", "c"], level: "warn" });
    expect(load(env, ["--port", "2", "--name=m", "--demo"])).toMatchObject({ port: 2, name: "m", demo: true });
    expect(load({ APP_DEMO: "yes" }, ["--no-demo"]).demo).toBe(false);
  });

  it("treats an empty variable as unset", () => {
    expect(load({ APP_PORT: "", APP_NAME: "" })).toMatchObject({ port: 8318, name: undefined });
  });

  it("types each value from its kind, its default and whether it repeats", () => {
    const values = load({ APP_CA_FILE: "/ca.pem" });
    const port: number = values.port;
    const demo: boolean = values.demo;
    const level: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent" = values.level;
    const name: string | undefined = values.name;
    const nodes: readonly string[] = values.node;
    const ca: FileContents | undefined = values.caFile;
    // @ts-expect-error a setting without a default may be undefined
    const required: string = values.name;
    // @ts-expect-error an integer is a number
    const text: string = values.port;
    expect([port, demo, level, name, nodes, ca?.path, required, text]).toEqual([
      8318,
      true,
      "info",
      undefined,
      [],
      "/ca.pem",
      undefined,
      8318,
    ]);
  });

  it("returns a deeply frozen object", () => {
    const values = load({ APP_HOSTS: "a" }, ["--node", "x"]);
    expect(Object.isFrozen(values)).toBe(true);
    expect(Object.isFrozen(values.hosts)).toBe(true);
    expect(Object.isFrozen(values.node)).toBe(true);
  });

  it("names the variable, the flag, the value and what is wrong, for every bad setting at once", () => {
    const { code, problems } = problemsOf({
      APP_PORT: "80a",
      APP_RATE: "0",
      APP_TOPIC: "bad topic",
      APP_LOG_LEVEL: "loud",
      APP_DEMO: "maybe",
    });
    expect(code).toBe("CONFIG_INVALID");
    expect(problems).toEqual([
      'APP_PORT (--port) = "80a": expected an integer',
      'APP_RATE (--rate) = "0": must be greater than 0',
      "APP_TOPIC (--topic) = \"bad topic\": may contain only letters, digits, '.', '_' and '-'",
      'APP_LOG_LEVEL (--log-level) = "loud": expected one of fatal, error, warn, info, debug, trace, silent',
      'APP_DEMO (--demo) = "maybe": expected true/false (or 1/0, yes/no, on/off)',
    ]);
    expect(problemsOf({}, ["--port", "65536"]).problems).toEqual(['APP_PORT (--port) = "65536": must be at most 65535']);
    expect(problemsOf({}, ["--port", "1.5"]).problems).toEqual(['APP_PORT (--port) = "1.5": expected an integer']);
    expect(problemsOf({}, ["--demo", "--no-demo"]).problems).toEqual(["APP_DEMO (--demo): give --demo or --no-demo, not both"]);
  });

  it("refuses an unknown flag, a stray argument and --no- on a non-switch with CONFIG_UNKNOWN_FLAG", () => {
    const unknown = problemsOf({}, ["--prot", "1"]);
    expect(unknown.code).toBe("CONFIG_UNKNOWN_FLAG");
    expect(unknown.problems[0]).toContain("--prot");
    expect(problemsOf({}, ["stray"]).code).toBe("CONFIG_UNKNOWN_FLAG");
    expect(problemsOf({}, ["--no-port"]).code).toBe("CONFIG_UNKNOWN_FLAG");
  });

  it("answers --help and -h with a request for the help text", () => {
    expect(settings.load({ env: {}, argv: ["--help"] })).toEqual({ kind: "help" });
    expect(settings.load({ env: { APP_PORT: "bad" }, argv: ["-h"] })).toEqual({ kind: "help" });
  });
});

describe("defineSettings: secrets and files", () => {
  it("reads a secret from its variable, its flag, or the file either names (one trailing line break dropped)", () => {
    expect(load({ APP_PASSWORD: "p w " }).password).toBe("p w ");
    expect(load({ APP_PASSWORD_FILE: "/secret" }).password).toBe("s3cret");
    expect(load({ APP_PASSWORD: "env" }, ["--password-file", "/secret"]).password).toBe("s3cret");
    expect(load({ APP_PASSWORD_FILE: "/secret" }, ["--password=flag"]).password).toBe("flag");
  });

  it("refuses both forms at once and an unreadable file, and never shows a secret", () => {
    expect(problemsOf({ APP_PASSWORD: "hunter2", APP_PASSWORD_FILE: "/secret" }).problems).toEqual([
      "APP_PASSWORD and APP_PASSWORD_FILE: give the value or the file, not both",
    ]);
    expect(problemsOf({}, ["--password", "x", "--password-file", "/secret"]).problems).toEqual([
      "--password and --password-file: give the value or the file, not both",
    ]);
    expect(problemsOf({ APP_PASSWORD_FILE: "/missing" }).problems).toEqual([
      "APP_PASSWORD_FILE (--password-file) = \"/missing\": cannot read the file: ENOENT: no such file, open '/missing'",
    ]);
    const strict = defineSettings({
      key: {
        env: "K",
        flag: "key",
        ...kind.text({ pattern: { regex: /^k/, message: "must start with k", values: "k..." } }),
        secret: true,
        unset: "-",
        doc: "",
      },
    });
    let problem = "";
    try {
      strict.load({ env: { K: "hunter2" }, argv: [] });
    } catch (error) {
      problem = (error as ConfigError).message;
    }
    expect(problem).toBe("invalid configuration:\n  K (--key) = [redacted]: must start with k");
  });

  it("reads a file setting into { path, text } and names an unreadable one", () => {
    expect(load({ APP_CA_FILE: "/ca.pem" }).caFile).toEqual({ path: "/ca.pem", text: "-----BEGIN CERTIFICATE-----\n" });
    expect(problemsOf({}, ["--ca-file", "/nope"]).problems).toEqual([
      "APP_CA_FILE (--ca-file) = \"/nope\": cannot read the file: ENOENT: no such file, open '/nope'",
    ]);
  });

  it("redacts secrets and shows files by path only", () => {
    const values = load({ APP_PASSWORD: "hunter2", APP_CA_FILE: "/ca.pem" });
    const shown = settings.redacted(values);
    expect(shown).toMatchObject({ password: "[redacted]", caFile: "/ca.pem", port: 8318 });
    expect(JSON.stringify(shown)).not.toContain("hunter2");
    expect(JSON.stringify(shown)).not.toContain("BEGIN CERTIFICATE");
    expect(settings.redacted(load()).password).toBeUndefined();
  });
});

describe("defineSettings: repeated settings", () => {
  it("takes each occurrence of the flag, or the variable split by the table's splitter; flags replace the variable", () => {
    expect(load({ APP_NODES: '["a","b"]' }).node).toEqual(["a", "b"]);
    expect(load({ APP_NODES: '["a","b"]' }, ["--node", "c", "--node=d"]).node).toEqual(["c", "d"]);
  });

  it("validates each value and reports a variable that cannot be split", () => {
    expect(problemsOf({}, ["--node", "a", "--node", " "]).problems).toEqual(['APP_NODES (--node) = " ": must not be empty']);
    expect(problemsOf({ APP_NODES: "[" }).problems[0]).toMatch(/^APP_NODES \(--node\): /);
  });

  it("fits the bridge's per-node flags (host:port,key-env=NAME,...) parsed by the item's own schema", () => {
    const bridgeLike = defineSettings({
      nodes: {
        env: "BRIDGE_NODES",
        flag: "node",
        kind: "text",
        values: "`host:port,key-env=NAME,mode=lpop|subscribe|http`",
        schema: kind.text().schema.transform((text) => {
          const [address, ...options] = text.split(",");
          return { address, ...Object.fromEntries(options.map((option) => option.split("="))) } as Record<string, string>;
        }),
        repeated: { splitEnv: (text) => (JSON.parse(text) as string[]).map(String), envFormat: "a JSON list" },
        unset: "(none)",
        doc: "A CLIProxyAPI node.",
      },
    });
    const result = bridgeLike.load({ env: {}, argv: ["--node", "a:8317,key-env=A,mode=subscribe", "--node", "b:1,key-env=B"] });
    expect(result.kind === "values" && result.values.nodes).toEqual([
      { address: "a:8317", "key-env": "A", mode: "subscribe" },
      { address: "b:1", "key-env": "B" },
    ]);
  });
});

describe("defineSettings: help and README", () => {
  it("lists every flag and variable in --help, with values and default", () => {
    const help = settings.helpText({ title: "app: does things.", usage: "usage: app [flags]" });
    for (const spec of Object.values(settings.table)) {
      expect(help).toContain(`--${spec.flag}`);
      expect(help).toContain(spec.env);
    }
    expect(help).toContain("--password <value> / --password-file <path>");
    expect(help).toContain("APP_PASSWORD / APP_PASSWORD_FILE");
    expect(help).toContain("--demo / --no-demo");
    expect(help).toContain("Values: integer 0..65535. Default: 8318.");
    expect(help.split("\n").slice(0, 3)).toEqual(["app: does things.", "", "usage: app [flags]"]);
  });

  it("renders one README row per setting, the default from the one place it is written", () => {
    const rows = settings.markdownTable().split("\n");
    expect(rows.slice(0, 2)).toEqual(["| variable | flag | values | default | meaning |", "|---|---|---|---|---|"]);
    expect(rows).toContain("| `APP_PORT` | `--port` | integer 0..65535 | `8318` | The port. |");
    expect(rows).toContain("| `APP_RATE` | `--rate` | number > 0, <= 10 | `2.5` | A rate. |");
    expect(rows).toContain("| `APP_DEMO` | `--demo` / `--no-demo` | `true`/`false` | `true` | A switch. |");
    expect(rows).toContain("| `APP_PASSWORD` / `APP_PASSWORD_FILE` | `--password` / `--password-file` | text | (none) | A secret. |");
    expect(rows).toContain("| `APP_NODES` | `--node` (repeatable) | text; the variable: a JSON list of strings | (none) | Nodes. |");
    expect(rows).toHaveLength(2 + Object.keys(settings.table).length);
  });
});

describe("defineSettings: the table itself", () => {
  it("refuses repeated variables or flags, a default its own validation refuses, and neither or both of default/unset", () => {
    const port = { env: "P", flag: "port", ...kind.integer(1, 10), default: "5", doc: "" };
    expect(() => defineSettings({ a: port, b: { ...port, flag: "other" } })).toThrow(/repeats "P"/);
    expect(() => defineSettings({ a: port, b: { ...port, env: "Q" } })).toThrow(/repeats "port"/);
    expect(() => defineSettings({ a: { ...port, flag: "help" } })).toThrow(/repeats "help"/);
    expect(() =>
      defineSettings({
        a: port,
        b: { ...port, env: "Q", flag: "no-demo" },
        c: { ...kind.boolean(), env: "D", flag: "demo", default: "true", doc: "" },
      }),
    ).toThrow(/repeats "no-demo"/);
    expect(() => defineSettings({ a: { ...port, default: "11" } })).toThrow(/default of a is invalid: must be at most 10/);
    expect(() => defineSettings({ a: { ...port, unset: "x" } })).toThrow(/exactly one of default and unset/);
    expect(() => defineSettings({ a: { env: "P", flag: "p", ...kind.integer(1, 10), doc: "" } })).toThrow(
      /exactly one of default and unset/,
    );
  });
});
