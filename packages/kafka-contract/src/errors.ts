/** Every error code of packages/kafka-contract (documented in its README.md). */
export const KAFKA_CONTRACT_ERROR_CODES = [
  "KAFKA_BROKERS_INVALID",
  "KAFKA_AUTH_FAILED",
  "KAFKA_TLS_UNTRUSTED",
  "KAFKA_TLS_REFUSED",
  "KAFKA_NOT_AUTHORIZED",
  "KAFKA_UNREACHABLE",
] as const;

/** One of {@link KAFKA_CONTRACT_ERROR_CODES}. */
export type KafkaContractErrorCode = (typeof KAFKA_CONTRACT_ERROR_CODES)[number];

/** Whether the same thing may succeed later unchanged: only an unreachable cluster may come back. */
const RETRYABLE: Readonly<Record<KafkaContractErrorCode, boolean>> = {
  KAFKA_BROKERS_INVALID: false,
  KAFKA_AUTH_FAILED: false,
  KAFKA_TLS_UNTRUSTED: false,
  KAFKA_TLS_REFUSED: false,
  KAFKA_NOT_AUTHORIZED: false,
  KAFKA_UNREACHABLE: true,
};

/** An error of the Kafka contract: what is wrong and what to change. */
export class KafkaContractError extends Error {
  override readonly name = "KafkaContractError";
  readonly code: KafkaContractErrorCode;
  readonly retryable: boolean;

  constructor(code: KafkaContractErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = RETRYABLE[code];
  }
}
