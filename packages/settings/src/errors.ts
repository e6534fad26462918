/** Every error code of packages/settings (documented in its README.md). */
export const CONFIG_ERROR_CODES = ["CONFIG_INVALID", "CONFIG_UNKNOWN_FLAG"] as const;

/** One of {@link CONFIG_ERROR_CODES}. */
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/**
 * A configuration that cannot be used; `problems` holds one line per bad setting, each naming its
 * variable and flag. A secret's value never appears in it.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly retryable = false as const;
  readonly problems: readonly string[];

  constructor(code: ConfigErrorCode, problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.code = code;
    this.problems = problems;
  }
}
