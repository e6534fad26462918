import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError, apiError } from "./errors";

/**
 * Management-key authentication, ported from CLIProxyAPI's management middleware of the seed era
 * (v6, `internal/api/handlers/management/handler.go`, `Middleware`):
 *
 * - The key comes from `Authorization: Bearer <key>`; an Authorization value that is not
 *   `Bearer <x>` is taken whole as the key; when that gives nothing, from `X-Management-Key`.
 * - Loopback clients (127.0.0.1, ::1) always may authenticate and are never counted or banned.
 * - A remote client that is banned gets 403 "IP banned due to too many failed attempts. Try again in
 *   <Go duration>"; when remote management is off it gets 403 "remote management disabled".
 * - No key configured: 403 "remote management key not set".
 * - No key given: 401 "missing management key"; a wrong one: 401 "invalid management key". Each of
 *   these counts as a failure of a remote client; the 5th failure bans the IP for 30 minutes (that
 *   request is still answered 401; the next gets 403). A success resets the count. After the ban
 *   expires the count starts from zero.
 *
 * The client IP is the socket's peer address: forwarding headers are not trusted (CLIProxyAPI's gin
 * trusted them, which let anyone pick their IP and escape a ban).
 */

/** Options of {@link createManagementAuth}. */
export interface ManagementAuthOptions {
  /** The management key; undefined = none configured. */
  readonly key: string | undefined;
  /** Whether clients other than loopback may authenticate (CLIProxyAPI's allow-remote-management). */
  readonly allowRemote: boolean;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly nowMillis: () => number;
  /** Failures before a ban (default 5, as CLIProxyAPI). */
  readonly maxFailures?: number;
  /** Ban length in ms (default 30 minutes, as CLIProxyAPI). */
  readonly banMs?: number;
}

/** The request facts authentication needs. */
interface AuthRequest {
  readonly clientIp: string;
  readonly authorization: string | undefined;
  readonly managementKey: string | undefined;
}

/** Checks management requests; keeps the failure counts of remote IPs. */
export interface ManagementAuth {
  /** `undefined` when the request may proceed, else the error to answer with. */
  check(request: AuthRequest): ApiError | undefined;
  /** IPs with a failure count or a ban (for tests and metrics). */
  trackedClients(): number;
}

interface Attempts {
  count: number;
  blockedUntil: number;
  lastActivity: number;
}

const HOUR_MS = 3_600_000;

/** True for the loopback peers CLIProxyAPI treats as local (an IPv4-mapped 127.0.0.1 included). */
export function isLocalClient(ip: string): boolean {
  return ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";
}

/** The key a request offers, read exactly as CLIProxyAPI reads it. */
export function providedKey(authorization: string | undefined, managementKey: string | undefined): string {
  let provided = "";
  if (authorization !== undefined && authorization !== "") {
    const space = authorization.indexOf(" ");
    if (space >= 0 && authorization.slice(0, space).toLowerCase() === "bearer") {
      provided = authorization.slice(space + 1);
    } else {
      provided = authorization;
    }
  }
  if (provided === "") provided = managementKey ?? "";
  return provided;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time comparison (over digests, so the lengths need not match). */
function sameKey(provided: string, expected: string): boolean {
  return timingSafeEqual(digest(provided), digest(expected));
}

/**
 * Go's `time.Duration.String()` of a whole number of seconds (`30m0s`, `1h0m0s`, `59s`, `0s`), as
 * CLIProxyAPI prints the remaining ban time after `Round(time.Second)`.
 */
export function goDurationSeconds(totalSeconds: number): string {
  if (totalSeconds === 0) return "0s";
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Creates the management-key check with its own failure table. */
export function createManagementAuth(options: ManagementAuthOptions): ManagementAuth {
  const maxFailures = options.maxFailures ?? 5;
  const banMs = options.banMs ?? 30 * 60_000;
  const attempts = new Map<string, Attempts>();
  let lastPurge = options.nowMillis();

  // CLIProxyAPI purges idle entries hourly from a goroutine; here the check itself does it, so there
  // is no timer to stop.
  function purgeStale(now: number): void {
    if (now - lastPurge < HOUR_MS) return;
    lastPurge = now;
    for (const [ip, entry] of attempts) {
      if (entry.blockedUntil > now) continue;
      if (now - entry.lastActivity > 2 * HOUR_MS) attempts.delete(ip);
    }
  }

  function fail(ip: string, now: number): void {
    let entry = attempts.get(ip);
    if (entry === undefined) {
      entry = { count: 0, blockedUntil: 0, lastActivity: now };
      attempts.set(ip, entry);
    }
    entry.count++;
    entry.lastActivity = now;
    if (entry.count >= maxFailures) {
      entry.blockedUntil = now + banMs;
      entry.count = 0;
    }
  }

  function reset(ip: string): void {
    const entry = attempts.get(ip);
    if (entry !== undefined) {
      entry.count = 0;
      entry.blockedUntil = 0;
    }
  }

  return {
    check(request) {
      const now = options.nowMillis();
      purgeStale(now);
      const local = isLocalClient(request.clientIp);
      if (!local) {
        const entry = attempts.get(request.clientIp);
        if (entry !== undefined && entry.blockedUntil !== 0) {
          if (now < entry.blockedUntil) {
            const remaining = goDurationSeconds(Math.round((entry.blockedUntil - now) / 1000));
            return new ApiError("API_IP_BANNED", `IP banned due to too many failed attempts. Try again in ${remaining}`);
          }
          entry.blockedUntil = 0;
          entry.count = 0;
        }
        if (!options.allowRemote) return apiError("API_REMOTE_DISABLED");
      }
      if (options.key === undefined || options.key === "") return apiError("API_KEY_NOT_SET");
      const provided = providedKey(request.authorization, request.managementKey);
      if (provided === "") {
        if (!local) fail(request.clientIp, now);
        return apiError("API_MISSING_KEY");
      }
      if (!sameKey(provided, options.key)) {
        if (!local) fail(request.clientIp, now);
        return apiError("API_INVALID_KEY");
      }
      if (!local) reset(request.clientIp);
      return undefined;
    },
    trackedClients() {
      return attempts.size;
    },
  };
}
