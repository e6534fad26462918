import { BridgeError } from "./errors";

/**
 * Scheduling time of the bridge: backoffs, poll intervals, the auth limiter. Milliseconds on a
 * monotonic-enough scale; never a record's time (records keep the node's own timestamps).
 * Injected so tests can run hours of backoff in moments.
 */
export interface SchedulerClock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Resolves after `ms`, or rejects with `BRIDGE_STOPPED` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemSchedulerClock: SchedulerClock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(stopped());
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(stopped());
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
});

/** The error a sleep rejects with when the bridge stops. */
export function stopped(): BridgeError {
  return new BridgeError("BRIDGE_STOPPED", "the bridge is stopping");
}

/** Exponential backoff settings: the n-th retry waits about `baseMs * 2^(n-1)`, at most `maxMs`. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The delay before retry number `attempt` (1 = first retry) with "equal jitter": half of the
 * exponential step is fixed, the other half random, so retries of many nodes (or bridges) spread
 * out but never collapse to zero.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const draw = random();
  const jitter = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0.5;
  return Math.round(step / 2 + (step / 2) * jitter);
}
