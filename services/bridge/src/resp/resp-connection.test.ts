import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FakeCliProxyNode } from "../../test/support/fake-cliproxy";
import { isBridgeError } from "../errors";
import { RespConnection } from "./resp-connection";

/**
 * RespConnection against the fake CLIProxyAPI node, and the fake's own protocol checked byte for
 * byte against what CLIProxyAPI v7.2.140 writes (internal/api/redis_queue_protocol.go): the fake
 * is the reference the integration tests trust.
 */
const KEY = "the-management-key";
const nodes: FakeCliProxyNode[] = [];
const connections: RespConnection[] = [];

async function fakeNode(
  options: Partial<ConstructorParameters<typeof FakeCliProxyNode>[0]> = {},
): Promise<{ node: FakeCliProxyNode; port: number }> {
  const node = new FakeCliProxyNode({ managementKey: KEY, ...options });
  nodes.push(node);
  return { node, port: await node.listen() };
}

async function open(port: number): Promise<RespConnection> {
  const connection = await RespConnection.open({ host: "127.0.0.1", port, connectTimeoutMs: 5_000 });
  connections.push(connection);
  return connection;
}

/** Writes raw bytes, resolves with the raw bytes the node answered once `until` matches them (or the node closed). */
async function rawConversation(port: number, request: string, until: (reply: string) => boolean): Promise<string> {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  let reply = "";
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("end", () => resolve());
      socket.on("data", (chunk: Buffer) => {
        reply += chunk.toString("utf8");
        if (until(reply)) resolve();
      });
      socket.write(request);
    });
    return reply;
  } finally {
    socket.destroy();
  }
}

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  for (const node of nodes.splice(0)) await node.close();
});

describe("the fake CLIProxyAPI node, byte for byte", () => {
  it("answers NOAUTH before AUTH, then pops FIFO with and without count (an empty array, or nil without count, when empty)", async () => {
    const { node, port } = await fakeNode();
    node.enqueue('{"n":1}');
    node.enqueue('{"n":2}');
    node.enqueue('{"n":3}');
    const request = [
      "*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$2\r\n10\r\n",
      "*2\r\n$4\r\nAUTH\r\n$3\r\nbad\r\n",
      `*2\r\n$4\r\nAUTH\r\n$${KEY.length}\r\n${KEY}\r\n`,
      "*2\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n",
      "*3\r\n$4\r\nRPOP\r\n$5\r\nusage\r\n$2\r\n10\r\n",
      "*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$1\r\n5\r\n",
      "*2\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n",
      "*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$1\r\n0\r\n",
      "*1\r\n$5\r\nFLUSH\r\n",
      "*1\r\n$4\r\nPING\r\n",
    ].join("");
    const expected = [
      "-NOAUTH Authentication required.\r\n",
      "-ERR invalid management key\r\n",
      "+OK\r\n",
      '$7\r\n{"n":1}\r\n',
      '*2\r\n$7\r\n{"n":2}\r\n$7\r\n{"n":3}\r\n',
      "*0\r\n",
      "$-1\r\n",
      "-ERR value is not an integer or out of range\r\n",
      "-ERR unknown command 'flush'\r\n",
      // The node knows PING only in subscribe mode.
      "-ERR unknown command 'ping'\r\n",
    ].join("");
    expect(await rawConversation(port, request, (reply) => reply.length >= expected.length)).toBe(expected);
  });

  it("answers nil instead of the empty array when configured so", async () => {
    const { port } = await fakeNode({ emptyCountReply: "nil" });
    const request = `*2\r\n$4\r\nAUTH\r\n$${KEY.length}\r\n${KEY}\r\n*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$3\r\n500\r\n`;
    expect(await rawConversation(port, request, (reply) => reply.endsWith("*-1\r\n"))).toBe("+OK\r\n*-1\r\n");
  });

  it("v6.9.x: knows no SUBSCRIBE and has no HTTP queue", async () => {
    const { port } = await fakeNode({ era: "v6.9" });
    const request = `*2\r\n$4\r\nAUTH\r\n$${KEY.length}\r\n${KEY}\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nusage\r\n`;
    const expected = "+OK\r\n-ERR unknown command 'subscribe'\r\n";
    expect(await rawConversation(port, request, (reply) => reply.length >= expected.length)).toBe(expected);
    const http = await rawConversation(
      port,
      `GET /v0/management/usage-queue?count=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n`,
      (reply) => reply.includes("404 page not found"),
    );
    expect(http).toMatch(/^HTTP\/1\.1 404 /);
  });

  it("v6.9.x: keeps a record 60 s, whatever retention it is given", async () => {
    let now = 0;
    const { node } = await fakeNode({ era: "v6.9", retentionMs: 3_600_000, now: () => now });
    node.enqueue('{"old":1}');
    now = 60_001;
    node.enqueue('{"new":1}');
    expect(node.queued).toBe(1);
    expect(node.expired.map(String)).toEqual(['{"old":1}']);
  });

  it("in subscribe mode: confirms, pushes support_refresh first, allows only PING and UNSUBSCRIBE (then closes)", async () => {
    const { node, port } = await fakeNode();
    const socket: Socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const replied = (what: (text: string) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!what(reply)) return;
          socket.off("data", check);
          socket.off("end", check);
          resolve();
        };
        socket.on("error", reject);
        socket.on("data", check);
        socket.on("end", () => {
          if (what(reply)) resolve();
          else reject(new Error(`closed after ${JSON.stringify(reply)}`));
        });
      });
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("utf8");
    });
    try {
      socket.write(`*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$${KEY.length}\r\n${KEY}\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nusage\r\n`);
      const subscribed = [
        "+OK\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$5\r\nusage\r\n:1\r\n",
        '*3\r\n$7\r\nmessage\r\n$5\r\nusage\r\n$24\r\n{"support_refresh":true}\r\n',
      ].join("");
      await replied((text) => text.length >= subscribed.length);
      expect(reply).toBe(subscribed);
      socket.write(
        [
          "*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$1\r\n1\r\n",
          "*2\r\n$4\r\nPING\r\n$1\r\n7\r\n",
          "*2\r\n$11\r\nUNSUBSCRIBE\r\n$5\r\nusage\r\n",
          "*1\r\n$4\r\nQUIT\r\n",
        ].join(""),
      );
      const rest = [
        "-ERR unknown command 'lpop'\r\n",
        "*2\r\n$4\r\npong\r\n$1\r\n7\r\n",
        // The node leaves the subscription and closes the connection: QUIT is never read.
        "*3\r\n$11\r\nunsubscribe\r\n$5\r\nusage\r\n:0\r\n",
      ].join("");
      await replied((text) => socket.readableEnded && text.length >= subscribed.length + rest.length);
      expect(reply).toBe(subscribed + rest);
      expect(node.subscriberCount).toBe(0);
    } finally {
      socket.destroy();
    }
  });

  it("on UNSUBSCRIBE discards the pushes it had not written yet (the node's push buffer)", async () => {
    const { node, port } = await fakeNode({ pushDelayMs: 60_000 });
    const connection = await open(port);
    await connection.command(["AUTH", KEY], 5_000);
    const received: string[] = [];
    await connection.subscribe("usage", 5_000, (_channel, payload) => received.push(payload.toString()));
    node.enqueue('{"buffered":1}');
    node.enqueue('{"buffered":2}');
    await connection.unsubscribe("usage", 5_000);
    expect(received).toEqual([]);
    expect(node.lostInTransit.map(String)).toEqual(['{"buffered":1}', '{"buffered":2}']);
    expect(node.handedOut).toEqual([]);
    expect(isBridgeError(await connection.closed(), "BRIDGE_CONNECTION_CLOSED")).toBe(true);
  });

  it("bans an address after 5 refused keys in a row and forgets an idle count after 2 hours", async () => {
    let now = 0;
    const { node, port } = await fakeNode({ now: () => now });
    const connection = await open(port);
    for (let attempt = 0; attempt < 4; attempt += 1) await connection.command(["AUTH", "wrong"], 5_000);
    now += 2 * 60 * 60_000 + 1;
    for (let attempt = 0; attempt < 4; attempt += 1) await connection.command(["AUTH", "wrong"], 5_000);
    expect(node.bans).toBe(0);
    expect(await connection.command(["AUTH", "wrong"], 5_000)).toEqual({ type: "error", message: "ERR invalid management key" });
    expect(node.bans).toBe(1);
    expect(await connection.command(["AUTH", KEY], 5_000)).toEqual({
      type: "error",
      message: "ERR IP banned due to too many failed attempts. Try again in 30m0s",
    });
    now += 30 * 60_000;
    expect(await connection.command(["AUTH", KEY], 5_000)).toEqual({ type: "simple", value: "OK" });
  });
});

describe("RespConnection", () => {
  it("pipelines commands and matches replies in order", async () => {
    const { node, port } = await fakeNode();
    for (let index = 0; index < 5; index += 1) node.enqueue(`{"n":${index}}`);
    const connection = await open(port);
    const replies = await Promise.all([
      connection.command(["AUTH", KEY], 5_000),
      connection.command(["LPOP", "usage", "2"], 5_000),
      connection.command(["LPOP", "usage"], 5_000),
      connection.command(["LPOP", "usage", "10"], 5_000),
      connection.command(["LPOP", "usage", "10"], 5_000),
    ]);
    expect(
      replies.map((reply) =>
        reply.type === "array" ? (reply.value?.map((item) => (item.type === "bulk" ? String(item.value) : "?")) ?? null) : reply,
      ),
    ).toEqual([
      { type: "simple", value: "OK" },
      ['{"n":0}', '{"n":1}'],
      { type: "bulk", value: Buffer.from('{"n":2}') },
      ['{"n":3}', '{"n":4}'],
      [],
    ]);
  });

  it("subscribes and hands each pushed message to the handler; PING still works", async () => {
    const { node, port } = await fakeNode();
    const connection = await open(port);
    await connection.command(["AUTH", KEY], 5_000);
    const received: string[] = [];
    await connection.subscribe("usage", 5_000, (channel, payload) => received.push(`${channel} ${payload.toString()}`));
    node.enqueue('{"live":1}');
    node.refresh();
    const pong = await connection.command(["PING", "1"], 5_000);
    expect(pong.type).toBe("array");
    // The node writes pushes from its buffer on a later turn than the pong: wait for them.
    for (let waited = 0; received.length < 3 && waited < 5_000; waited += 10) await new Promise((done) => setTimeout(done, 10));
    expect(received).toEqual(['usage {"support_refresh":true}', 'usage {"live":1}', 'usage {"refresh":true}']);
  });

  it("rejects every pending command when the node drops the connection", async () => {
    const { node, port } = await fakeNode({ fault: () => "drop-before" });
    node.enqueue("{}");
    const connection = await open(port);
    await connection.command(["AUTH", KEY], 5_000);
    const pending = [connection.command(["LPOP", "usage", "1"], 5_000), connection.command(["PING"], 5_000)];
    const outcomes = await Promise.all(
      pending.map((command) =>
        command.then(
          () => "resolved",
          (error: unknown) => (isBridgeError(error) ? error.code : "other"),
        ),
      ),
    );
    expect(outcomes).toEqual(["BRIDGE_CONNECTION_CLOSED", "BRIDGE_CONNECTION_CLOSED"]);
    expect(connection.isOpen).toBe(false);
    expect(isBridgeError(await connection.closed(), "BRIDGE_CONNECTION_CLOSED")).toBe(true);
    await expect(connection.command(["PING"], 5_000)).rejects.toMatchObject({ code: "BRIDGE_CONNECTION_CLOSED" });
  });

  it("closes the connection when a reply does not come in time, or bytes break the protocol", async () => {
    const server = createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("GARBAGE")) socket.write("!not resp\r\n");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const silent = await open(port);
      await expect(silent.command(["PING"], 50)).rejects.toMatchObject({ code: "BRIDGE_TIMEOUT" });
      expect(silent.isOpen).toBe(false);
      const garbled = await open(port);
      await expect(garbled.command(["GARBAGE"], 5_000)).rejects.toMatchObject({ code: "BRIDGE_PROTOCOL_ERROR" });
    } finally {
      server.close();
    }
  });

  it("fails to open with BRIDGE_CONNECT_FAILED when nothing listens, and BRIDGE_STOPPED when aborted", async () => {
    const { node, port } = await fakeNode();
    await node.close();
    await expect(RespConnection.open({ host: "127.0.0.1", port, connectTimeoutMs: 5_000 })).rejects.toMatchObject({
      code: "BRIDGE_CONNECT_FAILED",
    });
    const aborted = new AbortController();
    aborted.abort();
    await expect(RespConnection.open({ host: "127.0.0.1", port, connectTimeoutMs: 5_000, signal: aborted.signal })).rejects.toMatchObject({
      code: "BRIDGE_STOPPED",
    });
  });
});
