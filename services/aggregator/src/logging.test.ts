import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { logLevel } from "kafkajs";
import pino from "pino";
import { kafkaLogCreator, kafkaLogLevelFor } from "./logging";

function capture(level: string): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe("kafkaLogCreator", () => {
  it("routes kafkajs entries into pino with their level, namespace and fields (kafkajs's timestamp dropped)", async () => {
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
    log({ namespace: "", level: logLevel.DEBUG, label: "DEBUG", log: { timestamp: "x", message: "fetch" } });
    await new Promise((done) => setImmediate(done));
    expect(
      lines.map(({ level, msg, namespace, component, groupId, timestamp }) => ({ level, msg, namespace, component, groupId, timestamp })),
    ).toEqual([
      { level: 50, msg: "crashed", namespace: "Consumer", component: "kafkajs", groupId: "g", timestamp: undefined },
      { level: 40, msg: "rebalancing", namespace: "Runner", component: "kafkajs", groupId: undefined, timestamp: undefined },
      { level: 30, msg: "joined", namespace: "Consumer", component: "kafkajs", groupId: undefined, timestamp: undefined },
      { level: 20, msg: "fetch", namespace: undefined, component: "kafkajs", groupId: undefined, timestamp: undefined },
    ]);
  });

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
});
