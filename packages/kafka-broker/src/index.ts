export { KafkaBrokerError, kafkaBrokerErrorCodes } from "./errors";
export type { KafkaBrokerErrorCode } from "./errors";
export { fetchKafkaJars, freePort, isAlive, kafkaVersion, repositoryRoot, startLocalBroker, waitForMetadata } from "./local-broker";
export type { FetchKafkaJarsOptions, LocalBroker, LocalBrokerOptions } from "./local-broker";
export { provideKafka } from "./provider";
export type { KafkaSource, ProvideKafkaOptions, ProvidedKafka } from "./provider";
export { processesMentioning } from "./run-processes";
