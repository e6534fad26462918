/** The logging the bridge needs: a pino-compatible subset (a pino logger fits as it is). */
export interface BridgeLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): BridgeLogger;
}
