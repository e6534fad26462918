/** Every error code of packages/kafka-contract (documented in its README.md). */
export const KAFKA_CONTRACT_ERROR_CODES = ["KAFKA_BROKERS_INVALID"] as const;

/** One of {@link KAFKA_CONTRACT_ERROR_CODES}. */
export type KafkaContractErrorCode = (typeof KAFKA_CONTRACT_ERROR_CODES)[number];

/** An error of the Kafka contract: what is wrong and what to change. Never retryable. */
export class KafkaContractError extends Error {
  override readonly name = "KafkaContractError";
  readonly code: KafkaContractErrorCode;
  readonly retryable = false as const;

  constructor(code: KafkaContractErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
