import { createHash, createHmac } from "node:crypto";

/**
 * Masking of `source` values that are upstream API keys (see README.md, "Masking sources").
 *
 * CLIProxyAPI writes the upstream credential into each usage record's `source`: an account e-mail
 * or a project id for OAuth providers, but the API key itself, in clear text, for API-key
 * providers. A masked value keeps what an operator needs (the vendor prefix, the last four
 * characters) and adds a fingerprint, so one key always gives one masked value: statistics stay
 * grouped per key and the aggregator's dedup key stays stable across restarts and instances.
 */

/** Options of {@link maskSource}. */
export interface SourceMaskOptions {
  /**
   * A secret mixed into the fingerprint (HMAC-SHA-256 instead of plain SHA-256). Without one, a
   * fingerprint of a short or guessable key can be found by trying candidates; with one, only who
   * knows the salt can. Every bridge and publisher that feeds one aggregator must use the same
   * salt, or one key is counted under several masked values.
   */
  readonly salt?: string;
}

/** Vendor prefixes of API keys, longest first; the prefix stays visible in the masked value. */
const KEY_PREFIXES = [
  "sk-ant-api03-",
  "sk-ant-admin01-",
  "sk-ant-",
  "sk-proj-",
  "sk-svcacct-",
  "sk-or-v1-",
  "sk-",
  "sk_",
  "github_pat_",
  "AIza",
  "gsk_",
  "xai-",
  "pplx-",
  "csk-",
  "nvapi-",
  "ghp_",
  "hf_",
  "r8_",
  "fw_",
] as const;

/** Characters of API keys and tokens (base64, base64url, hex, dashes and dots). */
const TOKEN = /^[A-Za-z0-9._~+/=-]+$/;

/** Domain separation of the unsalted fingerprint (a change of it changes every masked value). */
const FINGERPRINT_DOMAIN = "usage-ledger source mask v1\u0000";

/** Length of the fingerprint, hex digits (48 bits). */
const FINGERPRINT_HEX = 12;

/**
 * True when `source` looks like an API key or token rather than an account name: a known vendor
 * prefix followed by at least 16 key characters, or a single token of key characters that is long
 * and random-looking (at least 20 characters mixing upper case, lower case and digits, or at least
 * 32 characters with letters and digits). E-mail addresses, project ids, paths and anything with a
 * space never look like keys; neither does a masked value (it contains `…` and `#`).
 */
export function looksLikeApiKey(source: string): boolean {
  if (source.length < 20 || source.length > 1_024 || !TOKEN.test(source)) return false;
  if (source.startsWith("/") || source.startsWith(".")) return false;
  const prefix = KEY_PREFIXES.find((candidate) => source.startsWith(candidate));
  if (prefix !== undefined && source.length - prefix.length >= 16) return true;
  const hasDigit = /[0-9]/.test(source);
  const hasLower = /[a-z]/.test(source);
  const hasUpper = /[A-Z]/.test(source);
  if (hasDigit && hasLower && hasUpper) return true;
  return source.length >= 32 && hasDigit && (hasLower || hasUpper);
}

/**
 * The masked form of `source` when it looks like an API key ({@link looksLikeApiKey}), else
 * `source` unchanged: `<vendor prefix>…<last 4 characters>#<12 hex digits of SHA-256>` (or of
 * HMAC-SHA-256 with `options.salt`), e.g. `sk-ant-…Qx7w#3f9c2e7d1a0b`. Deterministic (the same key
 * and salt give the same value in every process) and idempotent (a masked value is kept as it is).
 */
export function maskSource(source: string, options: SourceMaskOptions = {}): string {
  if (!looksLikeApiKey(source)) return source;
  const prefix = KEY_PREFIXES.find((candidate) => source.startsWith(candidate)) ?? "";
  const digest =
    options.salt === undefined || options.salt === ""
      ? createHash("sha256").update(FINGERPRINT_DOMAIN).update(source).digest("hex")
      : createHmac("sha256", options.salt).update(source).digest("hex");
  return `${prefix}\u2026${source.slice(-4)}#${digest.slice(0, FINGERPRINT_HEX)}`;
}
