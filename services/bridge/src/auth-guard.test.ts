import { describe, expect, it } from "vitest";
import { AuthGuard, DEFAULT_AUTH_POLICY, type AuthPolicy } from "./auth-guard";

const MINUTE = 60_000;

/** Runs a guard against a key that is always refused: the times of the first `count` attempts. */
function refusedAttempts(policy: AuthPolicy, count: number): number[] {
  const guard = new AuthGuard(policy);
  const times: number[] = [];
  let now = 0;
  for (let attempt = 0; attempt < count; attempt += 1) {
    now = guard.nextAttemptAt(now);
    guard.recordAttempt(now);
    times.push(now);
    guard.recordFailure(now);
  }
  return times;
}

describe("AuthGuard", () => {
  it("does not limit anything while the key works", () => {
    const guard = new AuthGuard();
    for (let now = 0; now < 10; now += 1) {
      expect(guard.nextAttemptAt(now)).toBe(now);
      guard.recordAttempt(now);
      guard.recordSuccess();
    }
    expect(guard.authState).toBe("ok");
  });

  it("spaces refused attempts 30 s, 2 min, 8 min apart, then 3 h 15 min", () => {
    const times = refusedAttempts(DEFAULT_AUTH_POLICY, 7);
    expect(times).toEqual([0, 30_000, 150_000, 630_000, 630_000 + 195 * MINUTE, 630_000 + 390 * MINUTE, 630_000 + 585 * MINUTE]);
  });

  it("never lets more than 2 attempts into any minute, whatever the delays", () => {
    const times = refusedAttempts({ ...DEFAULT_AUTH_POLICY, retryDelaysMs: [1, 1, 1], maxConsecutiveFailures: 50 }, 20);
    for (const last of times) {
      expect(times.filter((time) => time > last - MINUTE && time <= last).length).toBeLessThanOrEqual(2);
    }
  });

  it("stops one failure short of the node's ban for as long as the node remembers failures", () => {
    const times = refusedAttempts(DEFAULT_AUTH_POLICY, 12);
    // The node bans after 5 failures in a row it still remembers; it forgets one idle for > 2 h (swept hourly: by 3 h).
    for (let index = 4; index < times.length; index += 1) {
      expect((times[index] ?? 0) - (times[index - 1] ?? 0)).toBeGreaterThan(3 * 60 * MINUTE);
    }
  });

  it("reports the state and restarts the count on success", () => {
    const guard = new AuthGuard();
    guard.recordAttempt(0);
    guard.recordFailure(0);
    expect([guard.authState, guard.consecutiveFailures]).toEqual(["failed", 1]);
    for (let failure = 2; failure <= 4; failure += 1) guard.recordFailure(failure);
    expect([guard.authState, guard.consecutiveFailures]).toEqual(["locked-out", 4]);
    guard.recordSuccess();
    expect([guard.authState, guard.consecutiveFailures, guard.nextAttemptAt(5)]).toEqual(["ok", 0, 5]);
  });

  it("waits a ban out, then starts counting again", () => {
    const guard = new AuthGuard();
    guard.recordAttempt(1_000);
    guard.recordBanned(1_000);
    expect(guard.authState).toBe("banned");
    expect(guard.consecutiveFailures).toBe(0);
    expect(guard.nextAttemptAt(2_000)).toBe(1_000 + DEFAULT_AUTH_POLICY.bannedWaitMs);
  });
});
