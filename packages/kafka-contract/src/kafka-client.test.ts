import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { logLevel } from "kafkajs";
import { KafkaContractError } from "./errors";
import { kafkaClientConfig, verifyKafkaAccess } from "./kafka-client";
import { silentLogger } from "./kafka-log";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A TCP server on `host` that records the address each connection came to. */
async function listen(host: string): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((socket: Socket) => {
    seen.push(socket.localAddress ?? "");
    socket.destroy();
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, host, done));
  return { port: (server.address() as AddressInfo).port, seen };
}

describe("kafkaClientConfig", () => {
  it("passes host:port brokers, TLS, SASL and tuning through, with the logger's level", () => {
    const config = kafkaClientConfig({
      clientId: "c",
      brokers: ["k1:9092", " k2:9093 "],
      security: { ssl: { rejectUnauthorized: true }, sasl: { mechanism: "plain", username: "u", password: "p" } },
      tuning: { connectionTimeout: 5_000 },
    });
    expect(config).toMatchObject({
      clientId: "c",
      brokers: ["k1:9092", "k2:9093"],
      ssl: { rejectUnauthorized: true },
      sasl: { mechanism: "plain", username: "u", password: "p" },
      connectionTimeout: 5_000,
      logLevel: logLevel.NOTHING,
    });
    expect(config.socketFactory).toBeUndefined();
    expect(kafkaClientConfig({ clientId: "c", brokers: ["k:1"] })).not.toHaveProperty("ssl");
  });

  it("reaches an IPv6 bootstrap broker that kafkajs could not parse, through a placeholder name", async () => {
    const ipv6 = await listen("::1");
    const ipv4 = await listen("127.0.0.1");
    const config = kafkaClientConfig({ clientId: "c", brokers: [`[::1]:${ipv6.port}`, `127.0.0.1:${ipv4.port}`] });
    const brokers = config.brokers as string[];
    expect(brokers[0]).toMatch(/^ipv6-bootstrap-0\.invalid:\d+$/);
    expect(brokers[1]).toBe(`127.0.0.1:${ipv4.port}`);
    const factory = config.socketFactory;
    if (factory === undefined) throw new Error("expected a socket factory");
    for (const [entry, target] of [
      [brokers[0] ?? "", ipv6],
      [brokers[1] ?? "", ipv4],
    ] as const) {
      const [host, port] = [entry.slice(0, entry.lastIndexOf(":")), Number(entry.slice(entry.lastIndexOf(":") + 1))];
      await new Promise<void>((done, fail) => {
        const socket = factory({ host, port, ssl: {}, onConnect: () => undefined });
        socket.once("close", () => done());
        socket.once("error", fail);
      }).catch(() => undefined);
      expect(target.seen).toHaveLength(1);
    }
    expect(ipv6.seen).toEqual(["::1"]);
  });
});

describe("verifyKafkaAccess", () => {
  it("gives up on an unreachable cluster with KAFKA_UNREACHABLE (retryable) after its time, naming the address", async () => {
    const closed = await listen("127.0.0.1");
    const warnings: unknown[] = [];
    const error = await verifyKafkaAccess({
      clientId: "probe",
      brokers: [`127.0.0.1:${closed.port}`],
      timeoutMs: 600,
      logger: { ...silentLogger, warn: (fields) => warnings.push(fields) },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KafkaContractError);
    expect(error).toMatchObject({ code: "KAFKA_UNREACHABLE", retryable: true });
    expect((error as Error).message).toContain(`127.0.0.1:${closed.port}`);
    expect(warnings.length).toBeGreaterThan(0);
  });
});
