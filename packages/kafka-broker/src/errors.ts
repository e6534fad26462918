/** Every error code of packages/kafka-broker; README.md documents each. */
export const kafkaBrokerErrorCodes = ["KAFKA_JAVA_MISSING", "KAFKA_MAVEN_MISSING", "KAFKA_FETCH_FAILED", "KAFKA_START_FAILED"] as const;

export type KafkaBrokerErrorCode = (typeof kafkaBrokerErrorCodes)[number];

/** An error of the broker provider: what is missing or failed, and what to do. */
export class KafkaBrokerError extends Error {
  readonly code: KafkaBrokerErrorCode;
  readonly retryable = false;

  constructor(code: KafkaBrokerErrorCode, message: string) {
    super(message);
    this.name = "KafkaBrokerError";
    this.code = code;
  }
}
