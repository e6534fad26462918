import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { z } from "zod";
import { deepFreeze } from "./deep-freeze";
import { ConfigError } from "./errors";
import type { SettingKind } from "./kinds";

/**
 * One setting: its environment variable, its flag, its kind (validator and accepted values), its
 * one default and what it means. The table of a service's settings is the only place each of
 * these is written: defaults, validation, flags, `--help` and the README table all come from it.
 */
export interface SettingSpec<T = unknown> extends SettingKind<T> {
  /** The environment variable. */
  readonly env: string;
  /** The long flag without dashes; a boolean setting also takes `--no-<flag>`. */
  readonly flag: string;
  /** What it means (Markdown; shown in --help with the backticks removed). */
  readonly doc: string;
  /** The default as raw text, validated like any other value. The only place the default is written. */
  readonly default?: string;
  /** Shown after the default (e.g. `(256 MiB)`). */
  readonly defaultNote?: string;
  /** Without a default: what happens when the setting is not given (shown in the default column). */
  readonly unset?: string;
  /** A secret: also read from the file named by `<env>_FILE` / `--<flag>-file`; its value is never shown. */
  readonly secret?: boolean;
  /** The flag may repeat (each occurrence one value); the variable holds every value, split by `splitEnv`. */
  readonly repeated?: {
    readonly splitEnv: (text: string) => readonly string[];
    /** How the variable holds several values (for the README), e.g. `a JSON list`. */
    readonly envFormat: string;
  };
}

/** The value of a `file` setting: the path given and the file's text, read at load. */
export interface FileContents {
  readonly path: string;
  readonly text: string;
}

/** A service's settings by name. */
export type SettingsTable = Readonly<Record<string, SettingSpec>>;

type Single<S extends SettingSpec> = S extends { kind: "file" } ? FileContents : z.output<S["schema"]>;

/** The value of one setting: a list when repeated, possibly undefined when it has no default. */
type ValueOf<S extends SettingSpec> = S extends { repeated: object }
  ? readonly Single<S>[]
  : S extends { default: string }
    ? Single<S>
    : Single<S> | undefined;

/** The validated values of a table's settings, by setting name. */
export type SettingValues<T extends SettingsTable> = { readonly [K in keyof T]: ValueOf<T[K]> };

/** Where {@link Settings.load} reads from. */
export interface SettingSources {
  /** The environment (the caller passes `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the script (`process.argv.slice(2)`). */
  readonly argv: readonly string[];
  /** Reads a file named by a setting (`file` settings, `<env>_FILE` secrets); default node:fs (UTF-8). */
  readonly readFile?: (path: string) => string;
}

/** The result of {@link Settings.load}: the values, or a request for the help text. */
export type LoadResult<T extends SettingsTable> =
  { readonly kind: "values"; readonly values: SettingValues<T> } | { readonly kind: "help" };

/** A settings table with everything derived from it. */
export interface Settings<T extends SettingsTable> {
  readonly table: T;
  /**
   * Reads every setting from `argv` and `env` (a flag wins over its variable; an empty variable
   * counts as unset), validates them all at once and returns them deeply frozen, or `help` for
   * `--help`/`-h`. Throws a {@link ConfigError} naming each bad setting (`CONFIG_INVALID`) or the
   * unknown flag (`CONFIG_UNKNOWN_FLAG`).
   */
  load(sources: SettingSources): LoadResult<T>;
  /** `ENV (--flag)`: how messages name a setting. */
  describe(name: keyof T & string): string;
  /** The values with every secret replaced by `[redacted]` and every file by its path: safe to print or log. */
  redacted(values: SettingValues<T>): Readonly<Record<string, unknown>>;
  /** The `--help` text: `title`, `usage`, then every setting. */
  helpText(header: { readonly title: string; readonly usage: string }): string;
  /** The README's settings table (Markdown). */
  markdownTable(): string;
}

/** What a secret's value is shown as. */
const REDACTED = "[redacted]";

/**
 * Builds the loader, help text and README table of a settings table. Throws (a programming error)
 * when two settings share a variable or flag, or a default does not pass its own validation.
 */
export function defineSettings<const T extends SettingsTable>(table: T): Settings<T> {
  const names = Object.keys(table) as Array<keyof T & string>;
  checkTable(table, names);
  const describe = (name: keyof T & string): string => `${table[name]?.env} (--${table[name]?.flag})`;
  return {
    table,
    describe,
    load: (sources) => load(table, names, sources),
    redacted(values) {
      const shown: Record<string, unknown> = {};
      for (const name of names) {
        const spec = table[name] as SettingSpec;
        const value = values[name] as unknown;
        shown[name] = value === undefined ? undefined : spec.secret === true ? REDACTED : spec.kind === "file" ? pathsOf(value) : value;
      }
      return deepFreeze(shown);
    },
    helpText: (header) => helpText(table, names, header),
    markdownTable: () => markdownTable(table, names),
  };
}

function pathsOf(value: unknown): unknown {
  return Array.isArray(value) ? value.map((entry) => (entry as FileContents).path) : (value as FileContents).path;
}

function checkTable(table: SettingsTable, names: readonly string[]): void {
  const envs = new Set<string>();
  const flags = new Set<string>(["help"]);
  const claim = (seen: Set<string>, key: string, name: string): void => {
    if (seen.has(key)) throw new Error(`settings table: ${name} repeats ${JSON.stringify(key)}`);
    seen.add(key);
  };
  for (const name of names) {
    const spec = table[name] as SettingSpec;
    claim(envs, spec.env, name);
    claim(flags, spec.flag, name);
    if (spec.kind === "boolean") claim(flags, `no-${spec.flag}`, name);
    if (spec.secret === true) {
      claim(envs, `${spec.env}_FILE`, name);
      claim(flags, `${spec.flag}-file`, name);
    }
    if ((spec.default === undefined) === (spec.unset === undefined)) {
      throw new Error(`settings table: ${name} needs exactly one of default and unset`);
    }
    if (spec.default !== undefined) {
      const result = spec.schema.safeParse(spec.default);
      if (!result.success) throw new Error(`settings table: the default of ${name} is invalid: ${result.error.issues[0]?.message}`);
    }
  }
}

/** One setting's raw text and where it came from. */
interface RawValue {
  readonly text: string;
  /** How problems name it: `ENV (--flag)`, or the `_FILE` pair when it came from a file. */
  readonly label: string;
}

/** What the command line gave: per flag its value(s). */
type FlagValues = Map<string, string | boolean | string[]>;

function readFlags(table: SettingsTable, names: readonly string[], argv: readonly string[]): { flags: FlagValues; help: boolean } {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const name of names) {
    const spec = table[name] as SettingSpec;
    if (spec.kind === "boolean") {
      options[spec.flag] = { type: "boolean" };
      options[`no-${spec.flag}`] = { type: "boolean" };
    } else {
      options[spec.flag] = spec.repeated === undefined ? { type: "string" } : { type: "string", multiple: true };
    }
    if (spec.secret === true) options[`${spec.flag}-file`] = { type: "string" };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError("CONFIG_UNKNOWN_FLAG", [`${(error as Error).message} (see --help for the settings)`]);
  }
  const flags: FlagValues = new Map();
  for (const [flag, value] of Object.entries(parsed.values)) if (value !== undefined) flags.set(flag, value as string | boolean | string[]);
  return { flags, help: parsed.values.help === true };
}

function load<T extends SettingsTable>(table: T, names: ReadonlyArray<keyof T & string>, sources: SettingSources): LoadResult<T> {
  const { flags, help } = readFlags(table, names, sources.argv);
  if (help) return { kind: "help" };
  const readFile = sources.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const fromEnv = (variable: string): string | undefined => {
    const value = sources.env[variable];
    // An empty variable counts as unset, as shells make it easy to export one by accident.
    return value === undefined || value === "" ? undefined : value;
  };
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const spec = table[name] as SettingSpec;
    const label = `${spec.env} (--${spec.flag})`;
    const fileLabel = `${spec.env}_FILE (--${spec.flag}-file)`;
    const show = (raw: RawValue): string => (spec.secret === true && raw.label === label ? REDACTED : JSON.stringify(raw.text));
    const parse = (raw: RawValue): { ok: true; value: unknown } | { ok: false } => {
      const result = spec.schema.safeParse(raw.text);
      if (!result.success) {
        for (const issue of result.error.issues) problems.push(`${raw.label} = ${show(raw)}: ${issue.message}`);
        return { ok: false };
      }
      if (spec.kind !== "file") return { ok: true, value: result.data };
      const path = result.data as string;
      try {
        return { ok: true, value: { path, text: readFile(path) } satisfies FileContents };
      } catch (error) {
        problems.push(`${raw.label} = ${JSON.stringify(path)}: cannot read the file: ${(error as Error).message}`);
        return { ok: false };
      }
    };

    if (spec.repeated !== undefined) {
      const given = flags.get(spec.flag);
      const envText = fromEnv(spec.env);
      const texts = Array.isArray(given) ? given : envText === undefined ? [] : splitOrProblem(spec, envText, label, problems);
      const parsed = texts.map((text) => parse({ text, label }));
      values[name] = parsed.flatMap((result) => (result.ok ? [result.value] : []));
      continue;
    }

    const raw = pickRaw(spec, { flags, fromEnv, readFile, label, fileLabel, problems });
    if (raw === "failed") continue;
    const text = raw ?? (spec.default === undefined ? undefined : { text: spec.default, label });
    if (text === undefined) {
      values[name] = undefined;
      continue;
    }
    const result = parse(text);
    if (result.ok) values[name] = result.value;
  }
  if (problems.length > 0) throw new ConfigError("CONFIG_INVALID", problems);
  return { kind: "values", values: deepFreeze(values) as SettingValues<T> };
}

function splitOrProblem(spec: SettingSpec, text: string, label: string, problems: string[]): readonly string[] {
  try {
    return spec.repeated?.splitEnv(text) ?? [];
  } catch (error) {
    problems.push(`${label}: ${(error as Error).message}`);
    return [];
  }
}

/** The flag, else the variable (for a secret: either form, not both), else undefined; "failed" after a problem. */
function pickRaw(
  spec: SettingSpec,
  context: {
    flags: FlagValues;
    fromEnv: (variable: string) => string | undefined;
    readFile: (path: string) => string;
    label: string;
    fileLabel: string;
    problems: string[];
  },
): RawValue | undefined | "failed" {
  const { flags, fromEnv, label, fileLabel, problems } = context;
  if (spec.kind === "boolean") {
    const on = flags.get(spec.flag);
    const off = flags.get(`no-${spec.flag}`);
    if (on !== undefined && off !== undefined) {
      problems.push(`${label}: give --${spec.flag} or --no-${spec.flag}, not both`);
      return "failed";
    }
    if (on !== undefined) return { text: "true", label };
    if (off !== undefined) return { text: "false", label };
  }
  const pick = (direct: string | undefined, viaFile: string | undefined, both: string): RawValue | undefined | "failed" => {
    if (direct !== undefined && viaFile !== undefined) {
      problems.push(`${both}: give the value or the file, not both`);
      return "failed";
    }
    if (direct !== undefined) return { text: direct, label };
    if (viaFile === undefined) return undefined;
    try {
      // One trailing line break is the file's, not the secret's.
      return { text: context.readFile(viaFile).replace(/\r?\n$/, ""), label: fileLabel };
    } catch (error) {
      problems.push(`${fileLabel} = ${JSON.stringify(viaFile)}: cannot read the file: ${(error as Error).message}`);
      return "failed";
    }
  };
  const flagValue = flags.get(spec.flag);
  const fromFlags = pick(
    typeof flagValue === "string" ? flagValue : undefined,
    spec.secret === true ? (flags.get(`${spec.flag}-file`) as string | undefined) : undefined,
    `--${spec.flag} and --${spec.flag}-file`,
  );
  if (fromFlags !== undefined) return fromFlags;
  return pick(fromEnv(spec.env), spec.secret === true ? fromEnv(`${spec.env}_FILE`) : undefined, `${spec.env} and ${spec.env}_FILE`);
}

function flagText(spec: SettingSpec, markdown: boolean): string {
  const code = (text: string): string => (markdown ? `\`${text}\`` : text);
  if (spec.kind === "boolean") return `${code(`--${spec.flag}`)} / ${code(`--no-${spec.flag}`)}`;
  const value = markdown ? "" : spec.kind === "file" ? " <path>" : " <value>";
  const base = `${code(`--${spec.flag}`)}${value}`;
  if (spec.secret === true) return `${base} / ${code(`--${spec.flag}-file`)}${markdown ? "" : " <path>"}`;
  return spec.repeated === undefined ? base : `${base} (repeatable)`;
}

function defaultText(spec: SettingSpec): string {
  if (spec.default === undefined) return spec.unset ?? "";
  return `\`${spec.default}\`${spec.defaultNote === undefined ? "" : ` ${spec.defaultNote}`}`;
}

function helpText(table: SettingsTable, names: readonly string[], header: { title: string; usage: string }): string {
  const plain = (text: string): string => text.replaceAll("`", "");
  const lines = names.map((name) => {
    const spec = table[name] as SettingSpec;
    const variable = spec.secret === true ? `${spec.env} / ${spec.env}_FILE` : spec.env;
    return [
      `  ${flagText(spec, false).padEnd(40)} ${variable}`,
      `      ${plain(spec.doc)}`,
      `      Values: ${plain(spec.values)}. Default: ${plain(defaultText(spec))}.`,
    ].join("\n");
  });
  return [header.title, "", header.usage, "", ...lines, `  ${"--help, -h".padEnd(40)} this text`].join("\n");
}

function markdownTable(table: SettingsTable, names: readonly string[]): string {
  const rows = names.map((name) => {
    const spec = table[name] as SettingSpec;
    const variable = spec.secret === true ? `\`${spec.env}\` / \`${spec.env}_FILE\`` : `\`${spec.env}\``;
    const values = spec.repeated === undefined ? spec.values : `${spec.values}; the variable: ${spec.repeated.envFormat}`;
    return `| ${variable} | ${flagText(spec, true)} | ${values} | ${defaultText(spec)} | ${spec.doc} |`;
  });
  return ["| variable | flag | values | default | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}
