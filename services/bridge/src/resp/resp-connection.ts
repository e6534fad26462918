import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { BridgeError, errorMessage } from "../errors";
import { describeValue, encodeCommand, RespDecoder, type RespValue } from "./resp-codec";

/** TLS settings of one node (the management port's own TLS). */
export interface NodeTls {
  /** PEM of the CA(s) to trust instead of the system's; `undefined` = the system's. */
  readonly ca?: string;
  /** false accepts any certificate (testing only); default true. */
  readonly rejectUnauthorized: boolean;
  /** SNI and certificate name; default the host of the address. */
  readonly servername?: string;
}

/** Options of {@link RespConnection.open}. */
export interface RespConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: NodeTls;
  /** Time allowed for the TCP (and TLS) handshake. */
  readonly connectTimeoutMs: number;
  /**
   * Aborting stops a connect in progress (it rejects with `BRIDGE_STOPPED`). An open connection is
   * not closed by it: a reply in flight (records the node already popped) must still be read.
   */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly resolve: (value: RespValue) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
  readonly command: string;
}

/**
 * One RESP connection to a node. Commands are answered in order (a FIFO of pending replies);
 * after `SUBSCRIBE`, `message` pushes go to the push handler instead. Any error (socket, framing,
 * timeout) closes the connection and rejects every pending command: a caller never reuses a
 * connection after an error.
 */
export class RespConnection {
  private readonly socket: Socket;
  private readonly decoder = new RespDecoder();
  private readonly pending: Pending[] = [];
  private subscribed = false;
  private pushHandler: ((channel: string, payload: Buffer) => void) | undefined;
  private closeError: BridgeError | undefined;
  private readonly closeListeners: Array<(error: BridgeError) => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) =>
      this.fail(new BridgeError("BRIDGE_CONNECTION_CLOSED", `connection error: ${error.message}`, { cause: error })),
    );
    socket.on("close", () => this.fail(new BridgeError("BRIDGE_CONNECTION_CLOSED", "connection closed by the node")));
  }

  /** Opens a TCP (or TLS) connection; rejects with `BRIDGE_CONNECT_FAILED` or `BRIDGE_TIMEOUT`. */
  static open(options: RespConnectOptions): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted === true) {
        reject(new BridgeError("BRIDGE_STOPPED", "the bridge is stopping"));
        return;
      }
      const readyEvent = options.tls === undefined ? "connect" : "secureConnect";
      const socket =
        options.tls === undefined
          ? netConnect({ host: options.host, port: options.port })
          : tlsConnect({
              host: options.host,
              port: options.port,
              ca: options.tls.ca,
              rejectUnauthorized: options.tls.rejectUnauthorized,
              servername: options.tls.servername ?? (isIpAddress(options.host) ? undefined : options.host),
            });
      socket.setNoDelay(true);
      const settle = (error: BridgeError | undefined): void => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        socket.removeListener(readyEvent, onReady);
        options.signal?.removeEventListener("abort", onAbort);
        if (error === undefined) {
          resolve(new RespConnection(socket));
        } else {
          socket.destroy();
          reject(error);
        }
      };
      const onReady = (): void => settle(undefined);
      const onError = (error: Error): void =>
        settle(
          new BridgeError("BRIDGE_CONNECT_FAILED", `cannot connect to ${options.host}:${options.port}: ${error.message}`, { cause: error }),
        );
      const onAbort = (): void => settle(new BridgeError("BRIDGE_STOPPED", "the bridge is stopping"));
      const timer = setTimeout(
        () =>
          settle(
            new BridgeError("BRIDGE_TIMEOUT", `no connection to ${options.host}:${options.port} within ${options.connectTimeoutMs} ms`),
          ),
        options.connectTimeoutMs,
      );
      socket.once(readyEvent, onReady);
      socket.once("error", onError);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** True until the connection fails or is closed. */
  get isOpen(): boolean {
    return this.closeError === undefined;
  }

  /**
   * Sends one command and resolves with its reply (an error reply resolves too: `{type: "error"}`;
   * the caller decides what it means). Rejects only when the connection fails or the reply does
   * not come within `timeoutMs` (then the connection is closed).
   */
  command(args: readonly string[], timeoutMs: number): Promise<RespValue> {
    if (this.closeError !== undefined) return Promise.reject(this.closeError);
    const name = (args[0] ?? "").toUpperCase();
    return new Promise<RespValue>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => this.fail(new BridgeError("BRIDGE_TIMEOUT", `no reply to ${name} within ${timeoutMs} ms`)), timeoutMs)
          : undefined;
      this.pending.push({ resolve, reject, timer, command: name });
      this.socket.write(encodeCommand(args));
    });
  }

  /**
   * `SUBSCRIBE <channel>`: resolves once the node confirms; from then on each `message` push
   * calls `onMessage(channel, payload)`. Rejects with `BRIDGE_COMMAND_ERROR` when the node refuses.
   */
  async subscribe(channel: string, timeoutMs: number, onMessage: (channel: string, payload: Buffer) => void): Promise<void> {
    this.pushHandler = onMessage;
    this.subscribed = true;
    const reply = await this.command(["SUBSCRIBE", channel], timeoutMs);
    if (reply.type === "error") {
      this.subscribed = false;
      throw new BridgeError("BRIDGE_COMMAND_ERROR", `SUBSCRIBE ${channel} refused: ${reply.message}`);
    }
    const [kind] = arrayItems(reply);
    if (reply.type !== "array" || bulkText(kind)?.toLowerCase() !== "subscribe") {
      this.fail(new BridgeError("BRIDGE_PROTOCOL_ERROR", `unexpected reply to SUBSCRIBE: ${describeValue(reply)}`));
      throw this.closeError ?? new BridgeError("BRIDGE_PROTOCOL_ERROR", "unexpected reply to SUBSCRIBE");
    }
  }

  /**
   * `UNSUBSCRIBE <channel>`: resolves with the node's confirmation, which comes after every message
   * pushed before it; the connection is then back in normal mode (LPOP again).
   */
  async unsubscribe(channel: string, timeoutMs: number): Promise<void> {
    const reply = await this.command(["UNSUBSCRIBE", channel], timeoutMs);
    if (reply.type === "error") throw new BridgeError("BRIDGE_COMMAND_ERROR", `UNSUBSCRIBE ${channel} refused: ${reply.message}`);
    this.subscribed = false;
    this.pushHandler = undefined;
  }

  /** Calls `listener` once when the connection fails or is closed (at once if it already has). */
  onClose(listener: (error: BridgeError) => void): void {
    if (this.closeError !== undefined) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  /** A promise that resolves with the reason once the connection is closed. */
  closed(): Promise<BridgeError> {
    return new Promise((resolve) => this.onClose(resolve));
  }

  /** Closes the connection (pending commands reject with `BRIDGE_STOPPED`). */
  close(): void {
    this.fail(new BridgeError("BRIDGE_STOPPED", "connection closed by the bridge"));
  }

  private onData(chunk: Buffer): void {
    let values: RespValue[];
    try {
      values = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error instanceof BridgeError ? error : new BridgeError("BRIDGE_PROTOCOL_ERROR", errorMessage(error), { cause: error }));
      return;
    }
    for (const value of values) {
      if (this.closeError !== undefined) return;
      if (this.subscribed && this.deliverPush(value)) continue;
      const waiting = this.pending.shift();
      if (waiting === undefined) {
        this.fail(new BridgeError("BRIDGE_PROTOCOL_ERROR", `reply nobody asked for: ${describeValue(value)}`));
        return;
      }
      clearTimeout(waiting.timer);
      waiting.resolve(value);
    }
  }

  /** A `message` push of subscribe mode: handled here, true. Anything else is a command's reply. */
  private deliverPush(value: RespValue): boolean {
    const items = arrayItems(value);
    if (items.length !== 3 || bulkText(items[0])?.toLowerCase() !== "message") return false;
    const channel = bulkText(items[1]);
    const payload = items[2];
    if (channel === undefined || payload?.type !== "bulk" || payload.value === null) {
      this.fail(new BridgeError("BRIDGE_PROTOCOL_ERROR", `malformed message push: ${describeValue(value)}`));
      return true;
    }
    this.pushHandler?.(channel, payload.value);
    return true;
  }

  private fail(error: BridgeError): void {
    if (this.closeError !== undefined) return;
    this.closeError = error;
    this.socket.destroy();
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(new BridgeError(error.code, `${waiting.command}: ${error.message}`, { cause: error }));
    }
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}

/** The items of an array value; `[]` for anything else (nil arrays included). */
export function arrayItems(value: RespValue | undefined): readonly RespValue[] {
  return value?.type === "array" && value.value !== null ? value.value : [];
}

/** The text of a bulk or simple string; undefined for anything else. */
function bulkText(value: RespValue | undefined): string | undefined {
  if (value?.type === "bulk" && value.value !== null) return value.value.toString("utf8");
  if (value?.type === "simple") return value.value;
  return undefined;
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
