import { logLevel } from "kafkajs";
import type { LogEntry, logCreator } from "kafkajs";

/**
 * The logger kafkajs's lines are routed into: pino-compatible (`logger.warn({ ...fields }, "message")`).
 * A pino logger is one; `level` (pino's level name) lets {@link kafkaLogLevelFor} ask kafkajs for
 * no more than the logger prints.
 */
export interface KafkaLogger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
  readonly level?: string;
}

/** pino's numeric levels. */
const PINO_LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * The kafkajs log level that matches the logger's level (kafkajs filters before it builds an
 * entry); a logger without a level gets kafkajs's info and above.
 */
export function kafkaLogLevelFor(logger: KafkaLogger): logLevel {
  if (logger.level === undefined) return logLevel.INFO;
  const value = PINO_LEVEL_VALUES[logger.level] ?? Number.POSITIVE_INFINITY;
  if (value <= 20) return logLevel.DEBUG;
  if (value <= 30) return logLevel.INFO;
  if (value <= 40) return logLevel.WARN;
  if (value <= 50) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/**
 * kafkajs warns on every idempotent producer whose retries are limited; the publisher limits them
 * on purpose and retries the same batch itself, so that line goes to debug.
 */
const EXPECTED_WARNING = "Limiting retries for the idempotent producer";

/**
 * A kafkajs `logCreator` that routes kafkajs's own lines into `logger`, never to the console. Each
 * line carries kafkajs's message as its message and everything else kafkajs says under ONE key,
 * `kafkajs` (`{"kafkajs":{"namespace":"Consumer","groupId":"g",...}}`), so that no field of
 * kafkajs can repeat a key the logger already binds (`component`, `instance`, ...): pino would
 * print such a key twice. kafkajs's own timestamp is dropped (the logger stamps its own).
 */
export function kafkaLogCreator(logger: KafkaLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const entry = { kafkajs: namespace === "" ? fields : { namespace, ...fields } };
      switch (level) {
        case logLevel.ERROR:
          logger.error(entry, message);
          break;
        case logLevel.WARN:
          if (message.startsWith(EXPECTED_WARNING)) logger.debug(entry, message);
          else logger.warn(entry, message);
          break;
        case logLevel.INFO:
          logger.info(entry, message);
          break;
        case logLevel.DEBUG:
          logger.debug(entry, message);
          break;
        case logLevel.NOTHING:
          break;
      }
    };
}

/** A logger that drops everything. */
export const silentLogger: KafkaLogger = {
  level: "silent",
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
