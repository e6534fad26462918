export { CONFIG_ERROR_CODES, ConfigError } from "./errors";
export type { ConfigErrorCode } from "./errors";
export { deepFreeze } from "./deep-freeze";
export { LOG_LEVELS, kind } from "./kinds";
export type { LogLevel, SettingKind } from "./kinds";
export { defineSettings } from "./settings";
export type { FileContents, LoadResult, SettingSources, SettingSpec, SettingValues, Settings, SettingsTable } from "./settings";
