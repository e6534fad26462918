import { describe, expect, it } from "vitest";
import { isBridgeError } from "./errors";
import { popReply } from "./resp-intake";
import type { RespValue } from "./resp/resp-codec";

const bulk = (text: string): RespValue => ({ type: "bulk", value: Buffer.from(text) });

describe("popReply: the messages of an LPOP reply", () => {
  it("takes an array of bulk strings (LPOP usage <count>) in order", () => {
    expect(popReply({ type: "array", value: [bulk('{"a":1}'), bulk('{"b":2}')] }).map(String)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it("reads nil and an empty array as an empty queue, and a single bulk string (no count) as one message", () => {
    expect(popReply({ type: "array", value: null })).toEqual([]);
    expect(popReply({ type: "array", value: [] })).toEqual([]);
    expect(popReply({ type: "bulk", value: null })).toEqual([]);
    expect(popReply(bulk("{}")).map(String)).toEqual(["{}"]);
  });

  it.each<[string, RespValue, string]>([
    ["NOAUTH", { type: "error", message: "NOAUTH Authentication required." }, "BRIDGE_AUTH_FAILED"],
    [
      "an unknown command (a node without the usage queue)",
      { type: "error", message: "ERR unknown command 'LPOP'" },
      "BRIDGE_COMMAND_ERROR",
    ],
    ["a status reply", { type: "simple", value: "OK" }, "BRIDGE_PROTOCOL_ERROR"],
    ["an integer", { type: "integer", value: 3 }, "BRIDGE_PROTOCOL_ERROR"],
    ["a nil inside the array", { type: "array", value: [bulk("{}"), { type: "bulk", value: null }] }, "BRIDGE_PROTOCOL_ERROR"],
  ])("refuses %s", (_name, reply, code) => {
    let error: unknown;
    try {
      popReply(reply);
    } catch (caught) {
      error = caught;
    }
    expect(isBridgeError(error) ? error.code : error).toBe(code);
  });
});
