import { describe, expect, it } from "vitest";
import { backoffDelay, systemSchedulerClock } from "./clock";
import { isBridgeError } from "./errors";

describe("backoffDelay", () => {
  const policy = { baseMs: 500, maxMs: 30_000 };

  it("doubles per attempt up to the maximum, half fixed and half jitter", () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(policy, attempt, () => 0));
    const highest = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(policy, attempt, () => 1));
    expect(lowest).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(highest).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it("stays within bounds for any random value and huge attempt numbers", () => {
    for (const random of [0, 0.25, 0.5, 0.999, -3, 7, Number.NaN]) {
      for (const attempt of [0, 1, 10, 1_000, Number.MAX_SAFE_INTEGER]) {
        const delay = backoffDelay(policy, attempt, () => random);
        expect([attempt, random, delay >= 250 && delay <= 30_000]).toEqual([attempt, random, true]);
      }
    }
  });
});

describe("systemSchedulerClock", () => {
  it("rejects a sleep with BRIDGE_STOPPED when aborted, before or during it", async () => {
    const before = new AbortController();
    before.abort();
    const early = await systemSchedulerClock.sleep(10, before.signal).catch((error: unknown) => error);
    expect(isBridgeError(early, "BRIDGE_STOPPED")).toBe(true);
    const during = new AbortController();
    const pending = systemSchedulerClock.sleep(60_000, during.signal).catch((error: unknown) => error);
    during.abort();
    expect(isBridgeError(await pending, "BRIDGE_STOPPED")).toBe(true);
  });
});
