/**
 * The logger this package writes to: the subset of pino's API it uses (a pino `Logger` fits), so
 * the caller decides where logs go. Every call passes a context object first and a message second.
 */
export interface SnapshotLogger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** A logger that drops everything (the default when none is given). */
export const silentLogger: SnapshotLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
