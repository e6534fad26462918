import { logLevel, type logCreator } from "kafkajs";

/** The logging the bridge needs: a pino-compatible subset (a pino logger fits as it is). */
export interface BridgeLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): BridgeLogger;
}

/** Routes kafkajs's own log lines into `logger` (kafkajs must never write to the console). */
export function kafkajsLogCreator(logger: BridgeLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      const entry = { ...fields, kafkajs: namespace };
      switch (level) {
        case logLevel.ERROR:
          logger.error(entry, message);
          break;
        case logLevel.WARN:
          logger.warn(entry, message);
          break;
        case logLevel.INFO:
          logger.info(entry, message);
          break;
        case logLevel.DEBUG:
        case logLevel.NOTHING:
          logger.debug(entry, message);
          break;
      }
    };
}
