import { describe, expect, it } from "vitest";
import { createManagementAuth, goDurationSeconds, isLocalClient, providedKey } from "./auth";
import { goParseBool } from "./query";

describe("providedKey (CLIProxyAPI's header reading)", () => {
  it("takes the part after 'Bearer ' (any case), else the whole Authorization value, else X-Management-Key", () => {
    expect(providedKey("Bearer abc", undefined)).toBe("abc");
    expect(providedKey("bearer abc", undefined)).toBe("abc");
    expect(providedKey("BEARER a b", undefined)).toBe("a b");
    expect(providedKey("abc", undefined)).toBe("abc");
    expect(providedKey("Basic abc", undefined)).toBe("Basic abc");
    expect(providedKey("Bearer", undefined)).toBe("Bearer");
    expect(providedKey("Bearer ", "xk")).toBe("xk");
    expect(providedKey(undefined, "xk")).toBe("xk");
    expect(providedKey("", "xk")).toBe("xk");
    expect(providedKey("Bearer wrong", "right")).toBe("wrong");
    expect(providedKey(undefined, undefined)).toBe("");
  });
});

describe("goDurationSeconds (Go's Duration.String of whole seconds)", () => {
  it("prints as Go does", () => {
    expect([0, 1, 59, 60, 61, 1799, 1800, 3600, 3661].map(goDurationSeconds)).toEqual([
      "0s",
      "1s",
      "59s",
      "1m0s",
      "1m1s",
      "29m59s",
      "30m0s",
      "1h0m0s",
      "1h1m1s",
    ]);
  });
});

describe("goParseBool (Go's strconv.ParseBool)", () => {
  it("accepts exactly Go's spellings", () => {
    expect(["1", "t", "T", "TRUE", "true", "True"].map(goParseBool)).toEqual([true, true, true, true, true, true]);
    expect(["0", "f", "F", "FALSE", "false", "False"].map(goParseBool)).toEqual([false, false, false, false, false, false]);
    expect(["yes", "tRUE", "", " true", "2"].map(goParseBool)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe("isLocalClient", () => {
  it("treats IPv4 and IPv6 loopback (and IPv4-mapped loopback) as local", () => {
    expect(["127.0.0.1", "::1", "::ffff:127.0.0.1"].map(isLocalClient)).toEqual([true, true, true]);
    expect(["127.0.0.2", "10.0.0.1", "::ffff:10.0.0.1", ""].map(isLocalClient)).toEqual([false, false, false, false]);
  });
});

describe("createManagementAuth", () => {
  const remote = "203.0.113.9";

  it("forgets idle failure counts after two hours, but not an active ban", () => {
    let now = 1_000_000;
    const auth = createManagementAuth({ key: "k", allowRemote: true, nowMillis: () => now });
    auth.check({ clientIp: "198.51.100.1", authorization: "wrong", managementKey: undefined });
    for (let i = 0; i < 5; i++) auth.check({ clientIp: remote, authorization: "wrong", managementKey: undefined });
    expect(auth.trackedClients()).toBe(2);
    now += 2 * 3_600_000 + 1;
    // the ban (30 min) has expired by now too, so both go
    expect(auth.check({ clientIp: "192.0.2.1", authorization: "k", managementKey: undefined })).toBeUndefined();
    expect(auth.trackedClients()).toBe(0);
  });

  it("keeps a banned IP in the table while the ban lasts", () => {
    let now = 0;
    const auth = createManagementAuth({ key: "k", allowRemote: true, nowMillis: () => now, banMs: 10 * 3_600_000 });
    for (let i = 0; i < 5; i++) auth.check({ clientIp: remote, authorization: "wrong", managementKey: undefined });
    now += 3 * 3_600_000;
    auth.check({ clientIp: "192.0.2.1", authorization: "k", managementKey: undefined });
    expect(auth.trackedClients()).toBe(1);
    expect(auth.check({ clientIp: remote, authorization: "k", managementKey: undefined })?.message).toBe(
      "IP banned due to too many failed attempts. Try again in 7h0m0s",
    );
  });
});
