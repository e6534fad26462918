export { DEFAULT_TOPICS, DLQ_HEADERS } from "./topics";
export { brokerListProblem, formatBrokerAddress, parseBrokerAddress, parseBrokerList } from "./brokers";
export type { BrokerAddress } from "./brokers";
export { KAFKA_CONTRACT_ERROR_CODES, KafkaContractError } from "./errors";
export type { KafkaContractErrorCode } from "./errors";
export { kafkaLogCreator, kafkaLogLevelFor, silentLogger } from "./kafka-log";
export type { KafkaLogger } from "./kafka-log";
