import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSnapshotError } from "../errors";
import { chunkKey, isTopicName, manifestKey, parseSnapshotKey, snapshotPartitionFor } from "./keys";

describe("snapshot keys", () => {
  it("formats manifest and chunk keys literally", () => {
    expect(manifestKey({ sourceTopic: "usage.records", partition: 3, epoch: 7 })).toBe("m/usage.records/3/7");
    expect(chunkKey({ sourceTopic: "usage.records", partition: 3, epoch: 7, generation: 42, index: 0 })).toBe("c/usage.records/3/7/42/0");
  });

  it("parses what it formats, for any legal parts", () => {
    const topic = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((name) => name !== "." && name !== "..");
    const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(topic, count, count, count, count, (sourceTopic, partition, epoch, generation, index) => {
        expect(parseSnapshotKey(manifestKey({ sourceTopic, partition, epoch }))).toEqual({
          type: "manifest",
          sourceTopic,
          partition,
          epoch,
        });
        expect(parseSnapshotKey(chunkKey({ sourceTopic, partition, epoch, generation, index }))).toEqual({
          type: "chunk",
          sourceTopic,
          partition,
          epoch,
          generation,
          index,
        });
      }),
    );
  });

  it("ignores keys of any other shape", () => {
    for (const key of [
      "",
      "m",
      "m/usage.records/0",
      "m/usage.records/0/1/2",
      "c/usage.records/0/1/2",
      "x/usage.records/0/1",
      "m/usage.records/01/1",
      "m/usage.records/-1/1",
      "m/usage.records/1.5/1",
      "m/usage records/0/1",
      "m//0/1",
      "m/usage.records/0/99999999999999999",
      "c/usage.records/0/1/2/3/4",
    ]) {
      expect(parseSnapshotKey(key), key).toBeUndefined();
    }
  });

  it("refuses to format illegal parts with SNAPSHOT_INVALID_KEY", () => {
    const attempts = [
      () => manifestKey({ sourceTopic: "a/b", partition: 0, epoch: 0 }),
      () => manifestKey({ sourceTopic: "..", partition: 0, epoch: 0 }),
      () => manifestKey({ sourceTopic: "t", partition: -1, epoch: 0 }),
      () => chunkKey({ sourceTopic: "t", partition: 0, epoch: 0.5, generation: 0, index: 0 }),
      () => chunkKey({ sourceTopic: "t", partition: 0, epoch: 0, generation: 0, index: Number.MAX_SAFE_INTEGER + 1 }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (error) {
        caught = error;
      }
      expect(isSnapshotError(caught, "SNAPSHOT_INVALID_KEY")).toBe(true);
    }
  });

  it("knows Kafka's topic names", () => {
    expect(isTopicName("usage.records")).toBe(true);
    expect(isTopicName("a".repeat(249))).toBe(true);
    expect(isTopicName("a".repeat(250))).toBe(false);
    expect(isTopicName("with space")).toBe(false);
    expect(isTopicName(".")).toBe(false);
  });

  it("maps every source partition to one snapshot partition, partition mod count", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((partition) => snapshotPartitionFor(partition, 3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(snapshotPartitionFor(5, 1)).toBe(0);
    expect(() => snapshotPartitionFor(1, 0)).toThrow(/positive/);
    expect(() => snapshotPartitionFor(-1, 2)).toThrow(/non-negative/);
  });
});
