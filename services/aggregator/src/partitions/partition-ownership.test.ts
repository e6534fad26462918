import { describe, expect, it } from "vitest";
import { PartitionOwnership } from "./partition-ownership";
import type { AssignmentChange } from "./partition-ownership";

type Table = PartitionOwnership<string>;

/** The partitions of each kind of change, for readable assertions. */
function summary(change: AssignmentChange<string>): { acquired: number[]; retained: number[]; revoked: number[] } {
  return {
    acquired: change.acquired.map((ownership) => ownership.partition),
    retained: change.retained.map((ownership) => ownership.partition),
    revoked: change.revoked.map((ownership) => ownership.partition),
  };
}

function liveAll(table: Table): void {
  for (const ownership of table.all())
    expect(table.goLive(ownership.partition, ownership.token, `state-${ownership.partition}`)).toBe(true);
}

describe("PartitionOwnership", () => {
  it("acquires the first assignment, restoring, and goes live only under the current token", () => {
    const table: Table = new PartitionOwnership();
    const change = table.join("m1", [2, 0, 1]);
    expect(summary(change)).toEqual({ acquired: [0, 1, 2], retained: [], revoked: [] });
    expect(table.all().map((ownership) => ownership.phase)).toEqual(["restoring", "restoring", "restoring"]);
    expect(table.live(0)).toBeUndefined();
    const token = change.acquired[0]!.token;
    expect(table.goLive(0, token + 100, "stale")).toBe(false);
    expect(table.goLive(0, token, "state-0")).toBe(true);
    expect(table.live(0)?.state).toBe("state-0");
    expect(table.partitions()).toEqual([0, 1, 2]);
  });

  it("keeps partitions assigned again to the same member (same tokens, same state) and revokes the rest", () => {
    const table: Table = new PartitionOwnership();
    table.join("m1", [0, 1, 2, 3]);
    liveAll(table);
    const tokens = new Map(table.all().map((ownership) => [ownership.partition, ownership.token]));
    const change = table.join("m1", [1, 3, 4]);
    expect(summary(change)).toEqual({ acquired: [4], retained: [1, 3], revoked: [0, 2] });
    expect(change.retained.map((ownership) => ownership.token)).toEqual([tokens.get(1), tokens.get(3)]);
    expect(table.live(1)?.state).toBe("state-1");
    expect(table.isCurrent(0, tokens.get(0)!)).toBe(false);
    expect(table.isCurrent(1, tokens.get(1)!)).toBe(true);
    expect(change.revoked.map((ownership) => ownership.state)).toEqual(["state-0", "state-2"]);
  });

  it("treats a new member id as a gap: everything revoked, everything acquired anew under new tokens", () => {
    const table: Table = new PartitionOwnership();
    table.join("m1", [0, 1]);
    liveAll(table);
    const before = table.all().map((ownership) => ownership.token);
    const change = table.join("m2", [0, 1]);
    expect(summary(change)).toEqual({ acquired: [0, 1], retained: [], revoked: [0, 1] });
    const after = change.acquired.map((ownership) => ownership.token);
    expect(after.some((token) => before.includes(token))).toBe(false);
    expect(table.live(0)).toBeUndefined();
  });

  it("starts afresh after releaseAll, whatever the next member id", () => {
    const table: Table = new PartitionOwnership();
    table.join("m1", [0, 1]);
    liveAll(table);
    expect(table.releaseAll().map((ownership) => ownership.partition)).toEqual([0, 1]);
    expect(table.partitions()).toEqual([]);
    expect(summary(table.join("m1", [1]))).toEqual({ acquired: [1], retained: [], revoked: [] });
  });

  it("renews one partition under a fresh token (restoring) and releases one without a join", () => {
    const table: Table = new PartitionOwnership();
    table.join("m1", [0, 1]);
    liveAll(table);
    const old = table.get(0)!;
    const renewed = table.renew(0)!;
    expect(renewed.revoked).toBe(old);
    expect(renewed.acquired.token).not.toBe(old.token);
    expect(table.get(0)?.phase).toBe("restoring");
    expect(table.isCurrent(0, old.token)).toBe(false);
    expect(table.renew(5)).toBeUndefined();
    expect(table.release(1)?.partition).toBe(1);
    expect(table.partitions()).toEqual([0]);
    // The same member is assigned the released partition again: it is acquired, not retained.
    expect(summary(table.join("m1", [0, 1]))).toEqual({ acquired: [1], retained: [0], revoked: [] });
  });

  it("keeps a partition that is still restoring across a join of the same member (its restore goes on)", () => {
    const table: Table = new PartitionOwnership();
    const first = table.join("m1", [0]);
    const change = table.join("m1", [0]);
    expect(summary(change)).toEqual({ acquired: [], retained: [0], revoked: [] });
    expect(change.retained[0]!.token).toBe(first.acquired[0]!.token);
    expect(change.retained[0]!.phase).toBe("restoring");
  });
});
