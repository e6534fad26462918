/**
 * Keeps a node from banning the bridge. A CLIProxyAPI node counts failed management-key checks per
 * client IP, forgets them on a success (or after about 2 hours without any), and after 5 failures
 * in a row bans the IP for 30 minutes — every management client on that host with it. So:
 *
 * - while authentication works, nothing is limited;
 * - after a failure, the next attempt waits `retryDelaysMs[k-1]` after the k-th failure in a row
 *   (default 30 s, 2 min, 8 min), and never more than `maxAttemptsPerWindow` attempts (default 2)
 *   fall into any `windowMs` (default 60 s);
 * - after `maxConsecutiveFailures` failures in a row (default 4, one below the node's 5) the bridge
 *   waits `lockoutMs` before each further attempt (default 3 h 15 min: the node drops a failure
 *   count idle for more than 2 h at its hourly sweep, so by then it has forgotten), so the bridge
 *   alone never reaches the ban;
 * - a node that answers "banned" is left alone for `bannedWaitMs` (default 31 min); its ban resets
 *   the node's count, so the bridge's count restarts too.
 */
export interface AuthPolicy {
  readonly maxAttemptsPerWindow: number;
  readonly windowMs: number;
  readonly retryDelaysMs: readonly number[];
  readonly maxConsecutiveFailures: number;
  readonly lockoutMs: number;
  readonly bannedWaitMs: number;
}

/** The default {@link AuthPolicy}. */
export const DEFAULT_AUTH_POLICY: AuthPolicy = Object.freeze({
  maxAttemptsPerWindow: 2,
  windowMs: 60_000,
  retryDelaysMs: Object.freeze([30_000, 120_000, 480_000]),
  maxConsecutiveFailures: 4,
  lockoutMs: 195 * 60_000,
  bannedWaitMs: 31 * 60_000,
});

/** What the guard says about a node's credential. */
export type AuthState = "unknown" | "ok" | "failed" | "locked-out" | "banned";

/** The per-node limiter of authentication attempts (see {@link AuthPolicy}). */
export class AuthGuard {
  private readonly policy: AuthPolicy;
  private readonly attempts: number[] = [];
  private failuresInARow = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private bannedUntil = Number.NEGATIVE_INFINITY;
  private state: AuthState = "unknown";

  constructor(policy: AuthPolicy = DEFAULT_AUTH_POLICY) {
    this.policy = policy;
  }

  /** Failed attempts since the last success (or ban). */
  get consecutiveFailures(): number {
    return this.failuresInARow;
  }

  /** The credential's state as last observed. */
  get authState(): AuthState {
    return this.state;
  }

  /** The earliest time (scheduler ms) the next attempt may be made; `now` or earlier = at once. */
  nextAttemptAt(now: number): number {
    let at = Math.max(now, this.bannedUntil);
    if (this.failuresInARow > 0) {
      at = Math.max(at, this.lastFailureAt + this.delayAfterFailures(this.failuresInARow));
      const recent = this.attempts.filter((time) => time > at - this.policy.windowMs);
      if (recent.length >= this.policy.maxAttemptsPerWindow) {
        // The attempt that leaves the window first opens a slot.
        const opening = recent[recent.length - this.policy.maxAttemptsPerWindow];
        if (opening !== undefined) at = Math.max(at, opening + this.policy.windowMs);
      }
    }
    return at;
  }

  /** Records that an attempt is being made now (call right before sending the key). */
  recordAttempt(now: number): void {
    this.attempts.push(now);
    // Only the last window matters for the limit.
    while (this.attempts.length > this.policy.maxAttemptsPerWindow * 4) this.attempts.shift();
  }

  /** The key was accepted. */
  recordSuccess(): void {
    this.failuresInARow = 0;
    this.state = "ok";
  }

  /** The key was refused. */
  recordFailure(now: number): void {
    this.failuresInARow += 1;
    this.lastFailureAt = now;
    this.state = this.failuresInARow >= this.policy.maxConsecutiveFailures ? "locked-out" : "failed";
  }

  /** The node said this IP is banned: wait the ban out; the node's count restarts after it. */
  recordBanned(now: number): void {
    this.bannedUntil = now + this.policy.bannedWaitMs;
    this.failuresInARow = 0;
    this.state = "banned";
  }

  private delayAfterFailures(failures: number): number {
    if (failures >= this.policy.maxConsecutiveFailures) return this.policy.lockoutMs;
    const delays = this.policy.retryDelaysMs;
    return delays[Math.min(failures, delays.length) - 1] ?? 0;
  }
}
