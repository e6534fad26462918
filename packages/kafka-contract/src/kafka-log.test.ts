import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { logLevel } from "kafkajs";
import pino from "pino";
import { kafkaLogCreator, kafkaLogLevelFor, silentLogger } from "./kafka-log";

/** A pino logger writing into `lines`, and the raw JSON text of each line. */
function capture(level: string): { logger: pino.Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level }, sink), lines, raw };
}

/** The top-level keys of a JSON object text, in order, repeats included. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let index = 0; index < json.length; index++) {
    const char = json[index];
    if (inString) {
      if (char === "\\") index++;
      else if (char === '"') {
        inString = false;
        if (depth === 1 && json[index + 1] === ":") keys.push(json.slice(start + 1, index));
      }
    } else if (char === '"') {
      inString = true;
      start = index;
    } else if (char === "{" || char === "[") depth++;
    else if (char === "}" || char === "]") depth--;
  }
  return keys;
}

const flush = (): Promise<void> => new Promise((done) => setImmediate(done));

describe("kafkaLogCreator", () => {
  it("routes kafkajs entries with their level and message, everything else under one `kafkajs` key", async () => {
    const { logger, lines } = capture("debug");
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    log({
      namespace: "Consumer",
      level: logLevel.ERROR,
      label: "ERROR",
      log: { timestamp: "2026-01-01T00:00:00.000Z", message: "crashed", groupId: "g" },
    });
    log({ namespace: "Runner", level: logLevel.WARN, label: "WARN", log: { timestamp: "x", message: "rebalancing" } });
    log({ namespace: "Consumer", level: logLevel.INFO, label: "INFO", log: { timestamp: "x", message: "joined" } });
    log({ namespace: "", level: logLevel.DEBUG, label: "DEBUG", log: { timestamp: "x", message: "fetch", broker: "b:1" } });
    log({ namespace: "Producer", level: logLevel.NOTHING, label: "NOTHING", log: { timestamp: "x", message: "never" } });
    await flush();
    expect(lines.map(({ level, msg, kafkajs, timestamp }) => ({ level, msg, kafkajs, timestamp }))).toEqual([
      { level: 50, msg: "crashed", kafkajs: { namespace: "Consumer", groupId: "g" }, timestamp: undefined },
      { level: 40, msg: "rebalancing", kafkajs: { namespace: "Runner" }, timestamp: undefined },
      { level: 30, msg: "joined", kafkajs: { namespace: "Consumer" }, timestamp: undefined },
      { level: 20, msg: "fetch", kafkajs: { broker: "b:1" }, timestamp: undefined },
    ]);
  });

  it("never repeats a key the logger binds, even when kafkajs's fields share its names", async () => {
    const { logger, raw } = capture("info");
    const bound = logger.child({ component: "aggregator", namespace: "outer", groupId: "mine" });
    kafkaLogCreator(bound)(logLevel.INFO)({
      namespace: "Consumer",
      level: logLevel.ERROR,
      label: "ERROR",
      log: { timestamp: "x", message: "crashed", groupId: "theirs", component: "kafkajs" },
    });
    await flush();
    expect(raw).toHaveLength(1);
    const keys = topLevelKeys(raw[0] ?? "");
    expect(keys).toEqual([...new Set(keys)]);
    expect(JSON.parse(raw[0] ?? "")).toMatchObject({
      component: "aggregator",
      namespace: "outer",
      groupId: "mine",
      kafkajs: { namespace: "Consumer", groupId: "theirs", component: "kafkajs" },
    });
  });

  it("sends kafkajs's warning about the idempotent producer's limited retries to debug", async () => {
    const { logger, lines } = capture("debug");
    kafkaLogCreator(logger)(logLevel.DEBUG)({
      namespace: "Producer",
      level: logLevel.WARN,
      label: "WARN",
      log: { timestamp: "x", message: "Limiting retries for the idempotent producer to Number.MAX_SAFE_INTEGER" },
    });
    await flush();
    expect(lines.map((line) => line.level)).toEqual([20]);
  });
});

describe("kafkaLogLevelFor", () => {
  it("asks kafkajs for no more than the logger prints", () => {
    expect(["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((level) => kafkaLogLevelFor(capture(level).logger))).toEqual([
      logLevel.DEBUG,
      logLevel.DEBUG,
      logLevel.INFO,
      logLevel.WARN,
      logLevel.ERROR,
      logLevel.NOTHING,
      logLevel.NOTHING,
    ]);
  });

  it("gives info to a logger without a level, and nothing to the silent logger", () => {
    const plain = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    expect(kafkaLogLevelFor(plain)).toBe(logLevel.INFO);
    expect(kafkaLogLevelFor(silentLogger)).toBe(logLevel.NOTHING);
  });
});
