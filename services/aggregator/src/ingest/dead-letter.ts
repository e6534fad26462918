import { DLQ_HEADERS } from "@usage-ledger/kafka-contract";
import type { IHeaders, Message, Producer } from "kafkajs";

/** Longest error message kept in a header (a message can quote a large input). */
const MAX_MESSAGE_CHARS = 2_000;

/** One record that could not be applied. */
export interface DeadLetter {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders | undefined;
  readonly partition: number;
  /** Offset in the source partition (kafkajs' decimal string). */
  readonly offset: string;
  readonly reason: string;
  readonly message: string;
}

/** Options of {@link DeadLetterSink}. */
export interface DeadLetterSinkOptions {
  /** The (connected) producer to send with. */
  readonly producer: () => Producer;
  readonly dlqTopic: string;
  readonly sourceTopic: string;
}

/**
 * Sends records that cannot be applied to the dead-letter topic, with their original key and bytes
 * and the reason in headers. `send` resolves only once the broker has acknowledged every record
 * (acks = -1): the caller must not move past their offsets before that.
 */
export class DeadLetterSink {
  private readonly producer: () => Producer;
  private readonly dlqTopic: string;
  private readonly sourceTopic: string;

  constructor(options: DeadLetterSinkOptions) {
    this.producer = options.producer;
    this.dlqTopic = options.dlqTopic;
    this.sourceTopic = options.sourceTopic;
  }

  /** Sends the letters (in order) and waits for the broker's acknowledgement of all of them. */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.producer().send({
      topic: this.dlqTopic,
      acks: -1,
      messages: letters.map((letter) => this.toMessage(letter)),
    });
  }

  private toMessage(letter: DeadLetter): Message {
    const message = letter.message.length > MAX_MESSAGE_CHARS ? `${letter.message.slice(0, MAX_MESSAGE_CHARS)}…` : letter.message;
    return {
      key: letter.key,
      value: letter.value,
      headers: {
        ...letter.headers,
        [DLQ_HEADERS.reason]: letter.reason,
        [DLQ_HEADERS.message]: message,
        [DLQ_HEADERS.sourceTopic]: this.sourceTopic,
        [DLQ_HEADERS.sourcePartition]: String(letter.partition),
        [DLQ_HEADERS.sourceOffset]: letter.offset,
      },
    };
  }
}
