import { Kafka, Partitioners } from "kafkajs";
import type { Admin, Consumer, Producer } from "kafkajs";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createSystemClock } from "@usage-ledger/statistics";
import type { Clock, ParsedSnapshot, RequestStatistics } from "@usage-ledger/statistics";
import { kafkaClientConfig, verifyKafkaAccess } from "@usage-ledger/kafka-contract";
import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { ensureSnapshotTopic } from "@usage-ledger/snapshots";
import { FleetView } from "./fleet-view";
import { importSnapshot } from "./import";
import type { ImportResult } from "./import";
import { BatchHandler } from "./ingest/batch-handler";
import { DeadLetterSink } from "./ingest/dead-letter";
import { createAggregatorMetrics } from "./metrics";
import type { AggregatorMetrics } from "./metrics";
import { PartitionCoordinator } from "./partitions/partition-coordinator";
import { PartitionOwnership } from "./partitions/partition-ownership";
import type { PartitionPhase } from "./partitions/partition-ownership";
import { createPartitionRouter } from "./partitions/partition-routing";
import type { AggregatorEvent, PartitionState, RestoreReport } from "./partitions/partition-state";
import { PartitionRestorer } from "./recovery/partition-restorer";
import { SnapshotScheduler } from "./recovery/snapshot-scheduler";
import type { SnapshotFaults } from "./recovery/snapshot-scheduler";
import { ensureRecordTopics, retryTopicSetup } from "./topics";

/** Every error code of the aggregator core (documented in services/aggregator/README.md). */
export const AGGREGATOR_ERROR_CODES = [
  "AGGREGATOR_INVALID_OPTIONS",
  "AGGREGATOR_NOT_STARTED",
  "AGGREGATOR_STOPPED",
  "AGGREGATOR_IMPORT_FAILED",
  "AGGREGATOR_APPLY_FAILED",
] as const;

/** One of {@link AGGREGATOR_ERROR_CODES}. */
export type AggregatorErrorCode = (typeof AGGREGATOR_ERROR_CODES)[number];

/**
 * An error of the aggregator core. `AGGREGATOR_APPLY_FAILED` is never thrown: it is the reason
 * header of a record sent to the DLQ for an error neither packages/wire nor packages/statistics
 * coded (a bug), so that the aggregator carries on.
 */
export class AggregatorError extends Error {
  override readonly name = "AggregatorError";
  readonly code: AggregatorErrorCode;
  readonly retryable: boolean;

  constructor(code: AggregatorErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** The shortest snapshot interval the aggregator takes (the main command's setting has the same floor). */
export const MIN_SNAPSHOT_INTERVAL_MS = 100;

/** Options of {@link createAggregator}. */
export interface AggregatorOptions {
  readonly brokers: string[];
  /** TLS and SASL of a secured cluster (`resolveKafkaSecurity` of packages/kafka-contract); default PLAINTEXT. */
  readonly security?: KafkaSecurity;
  readonly clientId: string;
  readonly groupId: string;
  /** This instance's name (logs, events). */
  readonly instanceId: string;
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
  /** Partitions of the records topic when this instance creates it. */
  readonly partitions: number;
  /** Write a generation per owned partition at least this often while it changes (ms, at least {@link MIN_SNAPSHOT_INTERVAL_MS})... */
  readonly snapshotIntervalMs: number;
  /** ...or after this many records, whichever comes first. */
  readonly snapshotEveryRecords: number;
  /** Every this many generations of a partition, a full compaction instead of an incremental one. */
  readonly fullSnapshotEvery: number;
  /** Injected logger; kafkajs's logs are routed into it too. */
  readonly logger: Logger;
  /** Registry the metrics go into; default: a new one (see `Aggregator.metrics`). */
  readonly metrics?: Registry;
  /** Consumer group session timeout; default 30 s. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval; default 3 s (must be below the session timeout). */
  readonly heartbeatIntervalMs?: number;
  /** Rebalance timeout; default 60 s. */
  readonly rebalanceTimeoutMs?: number;
  /** Fetch sizes of the records consumer (kafkajs consumer options); defaults tuned for catch-up throughput. */
  readonly fetch?: {
    readonly maxBytesPerPartition?: number;
    readonly maxBytes?: number;
    readonly minBytes?: number;
    readonly maxWaitTimeInMs?: number;
  };
  /** max.message.bytes of the records topic when created; default 1,048,588. */
  readonly maxMessageBytes?: number;
  /** "Now" for imported details without a timestamp; default: a strictly increasing UTC clock. */
  readonly clock?: Clock;
  /** Receives the event log (ownership, restores, batches, generations, dead letters). */
  readonly onEvent?: (event: AggregatorEvent) => void;
  /** Test-only fault injection into snapshot writing (see {@link SnapshotFaults}). */
  readonly faults?: SnapshotFaults;
}

/** One owned partition as readiness reports it. */
interface PartitionReadiness {
  readonly partition: number;
  readonly state: PartitionPhase;
}

/** Counters for tests and the terminal dashboard. */
export interface AggregatorProgress {
  /** Records and imported details added since start. */
  readonly applied: number;
  /** Records and imported details skipped as duplicates since start. */
  readonly duplicates: number;
  /** Records with a blank API name (the seed's merge ignores them). */
  readonly ignored: number;
  /** Records sent to the DLQ since start. */
  readonly dlq: number;
  /** Import batches consumed since start. */
  readonly importBatches: number;
  /** Records replayed after restores, in total. */
  readonly replayed: number;
  /** Every restore of this instance, oldest first, with what each replayed. */
  readonly restores: readonly RestoreReport[];
  /** Sum of the owned live partitions' lags (high watermark minus next offset). */
  readonly lag: number;
  readonly partitions: ReadonlyArray<{
    readonly partition: number;
    readonly state: PartitionPhase;
    readonly nextOffset: number | undefined;
    readonly lag: number | undefined;
  }>;
  /** Snapshot generations written since start. */
  readonly snapshots: number;
  /**
   * Partitions the fleet view has built from the snapshot topic (other instances' partitions; its
   * own are served live and never rebuilt from their generations), ascending.
   */
  readonly followedPartitions: readonly number[];
}

/** A running aggregator instance. */
export interface Aggregator {
  /** Ensures the topics, joins the group, restores and consumes. Resolves once the group is joined. */
  start(): Promise<void>;
  /** Stops applying, writes a final generation per owned partition, leaves the group, disconnects. */
  stop(): Promise<void>;
  /** The partitions this instance owns now (restoring or live), ascending. */
  ownedPartitions(): number[];
  /** Ready when joined and every owned partition is live. */
  readiness(): { ready: boolean; partitions: PartitionReadiness[] };
  /**
   * This instance's live statistics of its owned, restored partitions, merged. Kept incrementally:
   * read it, do not change it (it is rebuilt when the owned set shrinks).
   */
  localStatistics(): RequestStatistics;
  /**
   * Fleet-wide statistics: the owned partitions live, the others from their latest snapshot
   * generations. Kept incrementally (merging only what is new): read it, do not change it.
   */
  fleetStatistics(): RequestStatistics;
  /** Durable import through the records topic (see `importSnapshot` in src/import.ts). */
  importSnapshot(snapshot: ParsedSnapshot): Promise<ImportResult>;
  readonly metrics: Registry;
  progress(): AggregatorProgress;
}

/** Creates an aggregator (nothing connects before `start`). Throws `AGGREGATOR_INVALID_OPTIONS`. */
export function createAggregator(options: AggregatorOptions): Aggregator {
  validateOptions(options);
  return new AggregatorService(options);
}

function validateOptions(options: AggregatorOptions): void {
  const problems: string[] = [];
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) problems.push("brokers must list at least one host:port");
  for (const name of ["clientId", "groupId", "instanceId", "recordsTopic", "dlqTopic", "snapshotsTopic"] as const) {
    if (typeof options[name] !== "string" || options[name] === "") problems.push(`${name} must be a non-empty string`);
  }
  for (const name of ["partitions", "snapshotEveryRecords", "fullSnapshotEvery"] as const) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) problems.push(`${name} must be a positive integer`);
  }
  if (!Number.isSafeInteger(options.snapshotIntervalMs) || options.snapshotIntervalMs < MIN_SNAPSHOT_INTERVAL_MS) {
    problems.push(`snapshotIntervalMs must be an integer >= ${MIN_SNAPSHOT_INTERVAL_MS}`);
  }
  if (new Set([options.recordsTopic, options.dlqTopic, options.snapshotsTopic]).size !== 3) {
    problems.push("recordsTopic, dlqTopic and snapshotsTopic must differ");
  }
  if (problems.length > 0) throw new AggregatorError("AGGREGATOR_INVALID_OPTIONS", `invalid aggregator options: ${problems.join("; ")}`);
}

type Lifecycle = "created" | "starting" | "running" | "stopping" | "stopped";

/** How often live partitions' positions are committed to the group (for lag monitoring only). */
const COMMIT_INTERVAL_MS = 5_000;

class AggregatorService implements Aggregator {
  readonly metrics: Registry;
  private readonly options: AggregatorOptions;
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly instrumentation: AggregatorMetrics;
  private readonly ownership = new PartitionOwnership<PartitionState>();
  private readonly handler: BatchHandler;
  private readonly scheduler: SnapshotScheduler;
  private readonly restorer: PartitionRestorer;
  private readonly fleet: FleetView;
  /** True once the fleet view's follower was started (see startFollowing). */
  private following = false;
  private readonly clock: Clock;
  private readonly restores: RestoreReport[] = [];
  private lifecycle: Lifecycle = "created";
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private recordsPartitions = 0;
  private recordsMaxMessageBytes = 0;
  private importQueue: Promise<unknown> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly coordinator: PartitionCoordinator;

  constructor(options: AggregatorOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: "aggregator", instanceId: options.instanceId });
    this.instrumentation = createAggregatorMetrics(options.metrics);
    this.metrics = this.instrumentation.registry;
    this.clock = options.clock ?? createSystemClock();
    this.kafka = new Kafka(this.clientConfig());
    const emit = (event: AggregatorEvent): void => this.emit(event);
    this.scheduler = new SnapshotScheduler({
      ownership: this.ownership,
      intervalMs: options.snapshotIntervalMs,
      everyRecords: options.snapshotEveryRecords,
      metrics: this.instrumentation,
      logger: this.logger,
      emit,
    });
    this.handler = new BatchHandler({
      ownership: this.ownership,
      deadLetters: new DeadLetterSink({
        producer: () => this.requireProducer(),
        dlqTopic: options.dlqTopic,
        sourceTopic: options.recordsTopic,
      }),
      metrics: this.instrumentation,
      logger: this.logger,
      emit,
      stopping: () => this.lifecycle === "stopping" || this.lifecycle === "stopped",
      afterBatch: (state) => this.scheduler.afterBatch(state),
    });
    this.restorer = new PartitionRestorer({
      kafka: this.kafka,
      admin: () => this.requireAdmin(),
      producer: () => this.requireProducer(),
      consumer: () => this.consumer,
      recordsTopic: options.recordsTopic,
      fullSnapshotEvery: options.fullSnapshotEvery,
      ownership: this.ownership,
      metrics: this.instrumentation,
      logger: this.logger,
      emit,
      beforeRestore: (partitions) => this.scheduler.finalWritesOf(partitions),
      onRestored: (report) => this.restores.push(report),
      active: () => this.lifecycle === "running" || this.lifecycle === "starting",
      faults: options.faults,
    });
    this.fleet = new FleetView({
      kafka: this.kafka,
      snapshotsTopic: options.snapshotsTopic,
      recordsTopic: options.recordsTopic,
      logger: this.logger,
      clock: this.clock,
      onGeneration: (event) => this.coordinator.onSnapshotGeneration(event),
      // Its own partitions are served live: the follower need not rebuild them from their generations.
      holds: (partition) => !this.coordinator.joined || this.ownership.get(partition) !== undefined,
    });
    this.coordinator = new PartitionCoordinator({
      recordsTopic: options.recordsTopic,
      ownership: this.ownership,
      restorer: this.restorer,
      scheduler: this.scheduler,
      metrics: this.instrumentation,
      logger: this.logger,
      emit,
      consumer: () => this.consumer,
      running: () => this.lifecycle === "running",
      stopped: () => this.lifecycle === "stopped",
      restartConsumer: () => this.restartConsumer(),
    });
  }

  async start(): Promise<void> {
    if (this.lifecycle !== "created") throw new AggregatorError("AGGREGATOR_STOPPED", `start() called in state ${this.lifecycle}`);
    this.lifecycle = "starting";
    try {
      await this.startSteps();
    } catch (error) {
      // Leave nothing running behind a failed start.
      this.lifecycle = "stopped";
      this.scheduler.stop();
      if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
      await this.consumer?.disconnect().catch(() => undefined);
      await this.restorer.idle();
      await this.fleet.close();
      await this.producer?.disconnect().catch(() => undefined);
      await this.admin?.disconnect().catch(() => undefined);
      throw error;
    }
    this.lifecycle = "running";
    this.logger.info(
      { recordsTopic: this.options.recordsTopic, partitions: this.recordsPartitions, groupId: this.options.groupId },
      "aggregator started",
    );
  }

  /** The kafkajs client configuration (packages/kafka-contract: brokers, TLS, SASL, logs). */
  private clientConfig(): ReturnType<typeof kafkaClientConfig> {
    const { clientId, brokers, logger, security } = this.options;
    return kafkaClientConfig({ clientId, brokers, logger, ...(security === undefined ? {} : { security }) });
  }

  private async startSteps(): Promise<void> {
    // A refused login or TLS handshake fails the start at once with its coded error (kafkajs would retry it).
    const { clientId, brokers, security } = this.options;
    await verifyKafkaAccess({ clientId, brokers, logger: this.logger, ...(security === undefined ? {} : { security }) });
    const admin = this.kafka.admin();
    this.admin = admin;
    await admin.connect();
    const topics = await retryTopicSetup("creating the records topics", this.logger, () =>
      ensureRecordTopics(admin, {
        recordsTopic: this.options.recordsTopic,
        dlqTopic: this.options.dlqTopic,
        partitions: this.options.partitions,
        maxMessageBytes: this.options.maxMessageBytes,
        logger: this.logger,
      }),
    );
    this.recordsPartitions = topics.partitions;
    this.recordsMaxMessageBytes = topics.maxMessageBytes;
    const snapshotTopic = await retryTopicSetup("creating the snapshot topic", this.logger, () =>
      ensureSnapshotTopic(admin, { topic: this.options.snapshotsTopic, logger: this.logger }),
    );
    this.restorer.setSnapshotTopic(snapshotTopic);
    const producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    this.producer = producer;
    await this.startConsumer();
    this.scheduler.start();
    this.commitTimer = setInterval(() => void this.commitPositions(), COMMIT_INTERVAL_MS);
    this.commitTimer.unref();
  }

  /**
   * Commits each live partition's next offset to the consumer group: for lag monitoring by the
   * usual Kafka tools only (the aggregator itself resumes from the snapshot manifests, never from
   * these). A commit refused during a rebalance is simply made again at the next interval.
   */
  private async commitPositions(): Promise<void> {
    const consumer = this.consumer;
    const offsets = this.ownership
      .all()
      .flatMap((ownership) =>
        ownership.phase === "live" && ownership.state !== undefined
          ? [{ topic: this.options.recordsTopic, partition: ownership.partition, offset: String(ownership.state.nextOffset) }]
          : [],
      );
    if (consumer === undefined || offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets);
    } catch (error) {
      this.logger.debug({ err: error }, "committing positions for lag monitoring failed; retried at the next interval");
    }
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: this.options.fetch?.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: this.options.fetch?.maxBytes ?? 32 * 1024 * 1024,
      minBytes: this.options.fetch?.minBytes ?? 1,
      maxWaitTimeInMs: this.options.fetch?.maxWaitTimeInMs ?? 250,
      retry: { retries: 8, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    this.coordinator.attach(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [this.options.recordsTopic], fromBeginning: true });
    // Offsets come from the snapshot manifests: kafkajs only fetches, never auto-resolves or commits.
    await consumer.run({ eachBatch: this.handler.eachBatch, eachBatchAutoResolve: false, autoCommit: false });
  }

  /** kafkajs gave up on an error it deems fatal; the aggregator never stops: start a new consumer. */
  private restartConsumer(): void {
    if (this.lifecycle !== "running" || this.restartTimer !== undefined) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.lifecycle !== "running") return;
      this.startConsumer().catch((error: unknown) => {
        this.logger.error({ err: error }, "could not restart the consumer; trying again");
        this.restartConsumer();
      });
    }, 2_000);
  }

  async stop(): Promise<void> {
    if (this.lifecycle === "stopped" || this.lifecycle === "stopping") return;
    if (this.lifecycle === "created") {
      this.lifecycle = "stopped";
      return;
    }
    this.lifecycle = "stopping";
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
    this.scheduler.stop();
    const consumer = this.consumer;
    try {
      consumer?.pause([{ topic: this.options.recordsTopic }]);
    } catch {
      // The consumer is between runs (crashed and restarting): nothing to pause.
    }
    await this.handler.idle();
    await this.scheduler.idle();
    // Final generations while still a member of the group, so the next owner restores the newest state.
    const finals = this.ownership
      .all()
      .filter((ownership) => ownership.phase === "live" && ownership.state !== undefined)
      .map((ownership) => this.scheduler.writeFinal(ownership.state as PartitionState));
    await Promise.allSettled(finals);
    await this.commitPositions();
    this.lifecycle = "stopped";
    await consumer?.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, "consumer disconnect failed"));
    this.ownership.releaseAll();
    await this.restorer.idle();
    await this.fleet.close();
    await this.producer?.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, "producer disconnect failed"));
    await this.admin?.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, "admin disconnect failed"));
    this.emit({ type: "stopped" });
    this.logger.info("aggregator stopped");
  }

  ownedPartitions(): number[] {
    return this.ownership.partitions();
  }

  readiness(): { ready: boolean; partitions: PartitionReadiness[] } {
    const partitions = this.ownership.all().map((ownership) => ({ partition: ownership.partition, state: ownership.phase }));
    const ready = this.lifecycle === "running" && this.coordinator.joined && partitions.every((partition) => partition.state === "live");
    return { ready, partitions };
  }

  localStatistics(): RequestStatistics {
    return this.fleet.local(this.liveSources());
  }

  fleetStatistics(): RequestStatistics {
    return this.fleet.fleet(this.liveSources());
  }

  private liveSources(): Array<{ partition: number; statistics: RequestStatistics }> {
    const sources: Array<{ partition: number; statistics: RequestStatistics }> = [];
    for (const ownership of this.ownership.all()) {
      if (ownership.phase === "live" && ownership.state !== undefined) {
        sources.push({ partition: ownership.partition, statistics: ownership.state.statistics });
      }
    }
    return sources;
  }

  async importSnapshot(snapshot: ParsedSnapshot): Promise<ImportResult> {
    if (this.lifecycle !== "running") {
      throw new AggregatorError(
        this.lifecycle === "created" || this.lifecycle === "starting" ? "AGGREGATOR_NOT_STARTED" : "AGGREGATOR_STOPPED",
        `cannot import while the aggregator is ${this.lifecycle}`,
        { retryable: this.lifecycle === "starting" },
      );
    }
    // One import at a time: each decides its counts against the fleet view the previous one left.
    const run = this.importQueue.then(async () => {
      try {
        return await importSnapshot(
          {
            producer: this.requireProducer(),
            recordsTopic: this.options.recordsTopic,
            partitionFor: createPartitionRouter(this.recordsPartitions),
            maxMessageBytes: this.recordsMaxMessageBytes,
            clock: this.clock,
            fleet: () => this.fleetStatistics(),
            invalidateFleet: () => this.fleet.invalidate(),
            logger: this.logger,
          },
          snapshot,
        );
      } catch (error) {
        throw new AggregatorError("AGGREGATOR_IMPORT_FAILED", `the import could not be published: ${describe(error)}`, {
          cause: error,
          retryable: true,
        });
      }
    });
    this.importQueue = run.catch(() => undefined);
    return run;
  }

  progress(): AggregatorProgress {
    const counters = this.handler.counters;
    let lag = 0;
    const partitions = this.ownership.all().map((ownership) => {
      const state = ownership.phase === "live" ? ownership.state : undefined;
      const partitionLag = state === undefined ? undefined : Math.max(0, state.highWatermark - state.nextOffset);
      lag += partitionLag ?? 0;
      return { partition: ownership.partition, state: ownership.phase, nextOffset: state?.nextOffset, lag: partitionLag };
    });
    return {
      applied: counters.applied,
      duplicates: counters.duplicates,
      ignored: counters.ignored,
      dlq: counters.deadLetters,
      importBatches: counters.importBatches,
      replayed: counters.replayed,
      restores: this.restores.map((report) => ({ ...report })),
      lag,
      partitions,
      snapshots: this.scheduler.written,
      followedPartitions: this.fleet.followedPartitions(),
    };
  }

  private emit(event: AggregatorEvent): void {
    if (event.type === "joined") this.startFollowing();
    if (event.type === "joined" || event.type === "revoked") this.fleet.ownershipChanged();
    if (event.type === "applied") this.logger.debug(event, "batch applied");
    else this.logger.info(event, event.type);
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.logger.warn({ err: error }, "onEvent listener threw");
    }
  }

  /**
   * Starts the fleet view's follower once, after the restores of the first assignment: they read
   * the snapshot topic too, and a restart should not read it twice at once.
   */
  private startFollowing(): void {
    if (this.following) return;
    this.following = true;
    // The join's restores are started right after its "joined" event.
    setImmediate(() => {
      void this.restorer.idle().then(() => {
        if (this.lifecycle === "starting" || this.lifecycle === "running") this.fleet.start();
      });
    });
  }

  private requireProducer(): Producer {
    if (this.producer === undefined) throw new AggregatorError("AGGREGATOR_NOT_STARTED", "the aggregator has not started");
    return this.producer;
  }

  private requireAdmin(): Admin {
    if (this.admin === undefined) throw new AggregatorError("AGGREGATOR_NOT_STARTED", "the aggregator has not started");
    return this.admin;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
