import { z } from "zod";

/**
 * How each kind of setting reads its text. A kind gives a setting its validator (`schema`, from
 * the raw text of a variable or flag to the value) and the description of the values it accepts
 * (`values`, shown in --help and the README), both from the same numbers, so they cannot disagree.
 */

/** The kinds of settings. */
type KindName = "text" | "integer" | "number" | "boolean" | "enum" | "list" | "file";

/** What a setting's kind contributes to its spec. */
export interface SettingKind<T, K extends KindName = KindName> {
  /** `boolean` settings are flags without a value (and `--no-<flag>`); `file` settings are read at load. */
  readonly kind: K;
  /** The accepted values, for --help and the README. */
  readonly values: string;
  /** From the raw text to the value; its messages say what is wrong with the text. */
  readonly schema: z.ZodType<T, string>;
}

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Free text, trimmed: not empty, at most `max` characters (default 249), optionally matching `pattern`. */
function text(options: { max?: number; pattern?: { regex: RegExp; message: string; values: string } } = {}): SettingKind<string> {
  const max = options.max ?? 249;
  let schema = z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
  if (options.pattern !== undefined) schema = schema.regex(options.pattern.regex, options.pattern.message);
  return { kind: "text", values: options.pattern?.values ?? "text", schema };
}

/** A secret or any text kept exactly as given (not trimmed): not empty. */
function exactText(): SettingKind<string> {
  return { kind: "text", values: "text", schema: z.string().min(1, "must not be empty") };
}

/** Kafka topic names: legal characters only, as the broker checks them. */
function topic(): SettingKind<string> {
  return text({
    pattern: { regex: /^[A-Za-z0-9._-]+$/, message: "may contain only letters, digits, '.', '_' and '-'", values: "topic name" },
  });
}

function range(min: number, max: number, minExclusive = false): string {
  const low = minExclusive ? `> ${min}` : `>= ${min}`;
  return max >= Number.MAX_SAFE_INTEGER ? low : minExclusive ? `${low}, <= ${max}` : `${min}..${max}`;
}

/** A whole number in `min..max` (max default: the largest safe integer). */
function integer(min: number, max = Number.MAX_SAFE_INTEGER): SettingKind<number> {
  return {
    kind: "integer",
    values: `integer ${range(min, max)}`,
    schema: z
      .string()
      .trim()
      .regex(/^[+-]?\d+$/, "expected an integer")
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)),
  };
}

/** A decimal number in `min..max` (or above `min` with `minExclusive`). */
function decimal(options: { min: number; max: number; minExclusive?: boolean }): SettingKind<number> {
  const base = z.number().max(options.max, `must be at most ${options.max}`);
  return {
    kind: "number",
    values: `number ${range(options.min, options.max, options.minExclusive === true)}`,
    schema: z
      .string()
      .trim()
      .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, "expected a number")
      .transform(Number)
      .pipe(
        options.minExclusive === true
          ? base.gt(options.min, `must be greater than ${options.min}`)
          : base.min(options.min, `must be at least ${options.min}`),
      ),
  };
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** `true/false` (or `1/0`, `yes/no`, `on/off`); as a flag `--<flag>` and `--no-<flag>`. */
function boolean(): SettingKind<boolean> {
  return {
    kind: "boolean",
    values: "`true`/`false`",
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .refine((word) => TRUE_WORDS.has(word) || FALSE_WORDS.has(word), "expected true/false (or 1/0, yes/no, on/off)")
      .transform((word) => TRUE_WORDS.has(word)),
  };
}

/** One of `choices`, exactly as written. */
function oneOf<const T extends readonly [string, ...string[]]>(choices: T): SettingKind<T[number]> {
  return {
    kind: "enum",
    values: choices.map((choice) => `\`${choice}\``).join(", "),
    schema: z.enum(choices, { error: `expected one of ${choices.join(", ")}` }),
  };
}

/** pino's log levels. */
function logLevel(): SettingKind<LogLevel> {
  return oneOf(LOG_LEVELS);
}

/**
 * A comma-separated list: entries trimmed, empty entries skipped; `check` returns what is wrong
 * with the whole text, or undefined.
 */
function list(options: { values: string; check?: (text: string) => string | undefined }): SettingKind<readonly string[]> {
  return {
    kind: "list",
    values: options.values,
    schema: z
      .string()
      .superRefine((raw, context) => {
        const problem = options.check?.(raw);
        if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
      })
      .transform((raw) =>
        raw
          .split(",")
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ""),
      ),
  };
}

/** A file path; the loader reads the file and the value is `{ path, text }` (see {@link FileContents}). */
function file(): SettingKind<string, "file"> {
  return { kind: "file", values: "file path", schema: z.string().trim().min(1, "must not be empty") };
}

/** The kinds of settings; spread one into a setting's spec: `{ env, flag, ...kind.integer(0, 65_535), ... }`. */
export const kind = { text, exactText, topic, integer, decimal, boolean, oneOf, logLevel, list, file } as const;
