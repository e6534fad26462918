import { DEFAULT_TOPICS, DLQ_HEADERS } from "@usage-ledger/kafka-contract";
import type { Kafka, Producer } from "kafkajs";
import { BridgeError, errorMessage } from "./errors";

/** One malformed usage-queue message on its way to the dead-letter topic. */
export interface DeadLetter {
  /** The message exactly as the node sent it (an element of the HTTP array: re-serialised JSON). */
  readonly raw: Buffer;
  /** Why: a WIRE_* code from the mapping, or the publisher's code when it refused the record. */
  readonly reasonCode: string;
  readonly reasonMessage: string;
  /** host:port of the node the message came from. */
  readonly nodeAddress: string;
  /** How it was read: lpop, subscribe or http. */
  readonly mode: string;
}

/** Where dead letters go; {@link createKafkaDeadLetterSink} is the real one. */
export interface DeadLetterSink {
  /** Resolves once every letter is acknowledged (acks -1); rejects with `BRIDGE_DLQ_FAILED`. */
  send(letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createKafkaDeadLetterSink}. */
export interface KafkaDeadLetterSinkOptions {
  readonly kafka: Kafka;
  /** Default `usage.records.dlq`. */
  readonly topic?: string;
}

/**
 * A dead-letter sink over its own kafkajs producer: `acks: -1`, each send awaited. The message key
 * is the node address (letters of one node stay in order on one partition).
 */
export function createKafkaDeadLetterSink(options: KafkaDeadLetterSinkOptions): DeadLetterSink {
  const topic = options.topic ?? DEFAULT_TOPICS.dlq;
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  const ready = (): Promise<Producer> => {
    if (producer !== undefined) return Promise.resolve(producer);
    connecting ??= (async () => {
      const created = options.kafka.producer({ allowAutoTopicCreation: false });
      await created.connect();
      producer = created;
      return created;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  return {
    async send(letters) {
      if (letters.length === 0) return;
      try {
        const connected = await ready();
        await connected.send({
          topic,
          acks: -1,
          messages: letters.map((letter) => ({
            key: letter.nodeAddress,
            value: letter.raw,
            headers: {
              [DLQ_HEADERS.reason]: letter.reasonCode,
              [DLQ_HEADERS.message]: letter.reasonMessage,
              [DLQ_HEADERS.sourceNode]: letter.nodeAddress,
              [DLQ_HEADERS.sourceMode]: letter.mode,
              [DLQ_HEADERS.producer]: "bridge",
            },
          })),
        });
      } catch (error) {
        throw new BridgeError("BRIDGE_DLQ_FAILED", `dead-letter topic ${topic}: ${errorMessage(error)}`, { cause: error });
      }
    },
    async close() {
      const current = producer ?? (connecting === undefined ? undefined : await connecting.catch(() => undefined));
      producer = undefined;
      await current?.disconnect();
    },
  };
}
