import { logLevel } from "kafkajs";
import type { LogEntry, logCreator } from "kafkajs";
import type { Logger } from "pino";

/** pino's numeric levels: kafkajs only logs what the injected logger would print anyway. */
const PINO_LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** The kafkajs log level that matches a pino logger's level (kafkajs filters before building entries). */
export function kafkaLogLevelFor(logger: Logger): logLevel {
  const value = PINO_LEVEL_VALUES[logger.level] ?? Number.POSITIVE_INFINITY;
  if (value <= 20) return logLevel.DEBUG;
  if (value <= 30) return logLevel.INFO;
  if (value <= 40) return logLevel.WARN;
  if (value <= 50) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/**
 * A kafkajs `logCreator` that routes kafkajs's own log lines into the injected pino logger, as
 * structured entries: `{component: "kafkajs", namespace, ...extra}` with kafkajs's message.
 * kafkajs's own timestamp is dropped (pino stamps its own).
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  const base = logger.child({ component: "kafkajs" });
  const byNamespace = new Map<string, Logger>();
  const loggerFor = (namespace: string): Logger => {
    let child = byNamespace.get(namespace);
    if (child === undefined) {
      child = namespace === "" ? base : base.child({ namespace });
      byNamespace.set(namespace, child);
    }
    return child;
  };
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const target = loggerFor(namespace);
      switch (level) {
        case logLevel.ERROR:
          target.error(extra, message);
          break;
        case logLevel.WARN:
          target.warn(extra, message);
          break;
        case logLevel.INFO:
          target.info(extra, message);
          break;
        case logLevel.DEBUG:
          target.debug(extra, message);
          break;
        case logLevel.NOTHING:
          break;
      }
    };
}
