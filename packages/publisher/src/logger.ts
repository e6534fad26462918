import { logLevel } from "kafkajs";
import type { logCreator } from "kafkajs";

/** The logger the publisher takes: pino-compatible (`logger.warn({ ...fields }, "message")`). */
export interface PublisherLogger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: PublisherLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * kafkajs warns on every producer whose retries are limited; the publisher limits them on purpose
 * and retries the same batch itself (see README.md, "Guarantees"), so that line goes to debug.
 */
const EXPECTED_WARNING = "Limiting retries for the idempotent producer";

/** A kafkajs `logCreator` that routes kafkajs's own log lines into `logger`, never to the console. */
export function kafkaLogCreator(logger: PublisherLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const entry = { ...fields, namespace: `kafkajs.${namespace}` };
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
