/** The minimal logger the package takes (pino-compatible: `logger.warn({...}, "message")`). */
export interface StatisticsLogger {
  warn(object: Record<string, unknown>, message?: string): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: StatisticsLogger = { warn: () => undefined };
