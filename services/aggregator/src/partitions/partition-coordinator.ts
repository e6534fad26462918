import { AssignerProtocol } from "kafkajs";
import type { Consumer, ConsumerCrashEvent, ConsumerGroupJoinEvent } from "kafkajs";
import type { Logger } from "pino";
import type { SnapshotGenerationSeen } from "../fleet-view";
import type { AggregatorMetrics } from "../metrics";
import type { Ownership, PartitionOwnership } from "./partition-ownership";
import type { AggregatorEvent, PartitionState } from "./partition-state";
import type { PartitionRestorer } from "../recovery/partition-restorer";
import type { SnapshotScheduler } from "../recovery/snapshot-scheduler";

/** Options of {@link PartitionCoordinator}. */
export interface PartitionCoordinatorOptions {
  readonly recordsTopic: string;
  readonly ownership: PartitionOwnership<PartitionState>;
  readonly restorer: PartitionRestorer;
  readonly scheduler: SnapshotScheduler;
  readonly metrics: AggregatorMetrics;
  readonly logger: Logger;
  readonly emit: (event: AggregatorEvent) => void;
  /** The consumer now (a crashed one is replaced). */
  readonly consumer: () => Consumer | undefined;
  /** True while the aggregator runs (not before start, not once stopping). */
  readonly running: () => boolean;
  /** True once the aggregator has stopped (no final generations any more). */
  readonly stopped: () => boolean;
  /** kafkajs will not restart the consumer after a crash: the aggregator must start a new one. */
  readonly restartConsumer: () => void;
}

/**
 * Turns the consumer's group events into ownership changes (kafkajs has no revoke callback):
 * on a join, revoked partitions stop at once (and leave a final generation behind), kept ones are
 * re-sought to where their statistics end, new ones are paused and restored; a crash or stop ends
 * every ownership; and a newer writer epoch seen on the snapshot topic for a live partition is
 * settled with the group coordinator.
 */
export class PartitionCoordinator {
  /** True between a group join and the next crash or stop. */
  joined = false;
  private readonly options: PartitionCoordinatorOptions;
  /** This instance's member id in the group (from the last join). */
  private memberId: string | undefined;
  /** Partitions whose ownership is being checked with the group coordinator. */
  private readonly verifying = new Set<number>();

  constructor(options: PartitionCoordinatorOptions) {
    this.options = options;
  }

  /** Subscribes to a (new) consumer's group events. */
  attach(consumer: Consumer): void {
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onGroupJoin(consumer, event));
    consumer.on(consumer.events.CRASH, (event) => this.onCrash(consumer, event));
    consumer.on(consumer.events.STOP, () => {
      if (consumer === this.options.consumer()) this.releaseAll("consumer stopped");
    });
  }

  /** Runs synchronously inside kafkajs's join, before the first fetch of the new generation. */
  private onGroupJoin(consumer: Consumer, event: ConsumerGroupJoinEvent): void {
    if (consumer !== this.options.consumer()) return;
    const { ownership: table, restorer } = this.options;
    const assigned = event.payload.memberAssignment[this.options.recordsTopic] ?? [];
    const change = table.join(event.payload.memberId, assigned);
    this.memberId = event.payload.memberId;
    this.joined = true;
    this.options.emit({ type: "joined", memberId: event.payload.memberId, partitions: [...assigned].sort((a, b) => a - b) });
    for (const lost of change.revoked) this.revoke(lost, "not assigned any more");
    const topic = this.options.recordsTopic;
    const restoring = [...change.acquired, ...change.retained.filter((ownership) => ownership.phase === "restoring")];
    if (restoring.length > 0) consumer.pause([{ topic, partitions: restoring.map((ownership) => ownership.partition) }]);
    for (const kept of change.retained) {
      const state = kept.state;
      if (kept.phase !== "live" || state === undefined) continue;
      // kafkajs resumes a kept partition from the committed offset: our statistics end at nextOffset.
      consumer.seek({ topic, partition: kept.partition, offset: String(state.nextOffset) });
      this.options.emit({ type: "retained", partition: kept.partition, token: kept.token, nextOffset: state.nextOffset });
    }
    for (const ownership of change.acquired)
      this.options.emit({ type: "acquired", partition: ownership.partition, token: ownership.token });
    if (change.acquired.length > 0) restorer.restore(change.acquired);
    this.updateOwnershipGauges();
  }

  /**
   * A generation of a partition this instance holds live, written under a NEWER epoch than the one
   * it claimed: another instance restored and claimed the partition meanwhile. Either this instance
   * is stale (it was dropped from the group and has not noticed yet: it must stop applying) or the
   * other one is (then this instance's generations would be ignored from now on: it must restore
   * and claim again). The group coordinator decides which.
   */
  onSnapshotGeneration(event: SnapshotGenerationSeen): void {
    const ownership = this.options.ownership.live(event.partition);
    const state = ownership?.state;
    if (ownership === undefined || state === undefined || event.epoch <= state.writer.epoch) return;
    if (!this.options.running() || this.verifying.has(event.partition)) return;
    this.verifying.add(event.partition);
    this.options.logger.warn(
      { partition: event.partition, ourEpoch: state.writer.epoch, theirEpoch: event.epoch },
      "a newer writer claimed a partition this instance holds: asking the group who owns it",
    );
    void this.settleOwnership(ownership, event.epoch)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, partition: event.partition }, "could not settle a partition's ownership"),
      )
      .finally(() => this.verifying.delete(event.partition));
  }

  private async settleOwnership(ownership: Ownership<PartitionState>, theirEpoch: number): Promise<void> {
    const consumer = this.options.consumer();
    if (consumer === undefined) return;
    const { ownership: table } = this.options;
    const partition = ownership.partition;
    const group = await consumer.describeGroup();
    const member = group.members.find((candidate) => candidate.memberId === this.memberId);
    const assignment = member === undefined ? undefined : AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    const assigned = assignment?.assignment[this.options.recordsTopic]?.includes(partition) ?? false;
    if (!table.isCurrent(partition, ownership.token) || !this.options.running()) return;
    if (!assigned) {
      // This instance is the stale one: stop applying (and fetching) now; kafkajs will notice and rejoin.
      table.release(partition);
      consumer.pause([{ topic: this.options.recordsTopic, partitions: [partition] }]);
      this.revoke(ownership, `not this member's partition any more (epoch ${theirEpoch} claimed elsewhere)`);
      this.updateOwnershipGauges();
      return;
    }
    // The other writer is stale: restore again and claim an epoch above it.
    const renewed = table.renew(partition);
    if (renewed === undefined) return;
    this.revoke(renewed.revoked, `a stale writer claimed epoch ${theirEpoch}`);
    consumer.pause([{ topic: this.options.recordsTopic, partitions: [partition] }]);
    this.options.emit({ type: "acquired", partition, token: renewed.acquired.token });
    this.options.restorer.restore([renewed.acquired]);
    this.updateOwnershipGauges();
  }

  private onCrash(consumer: Consumer, event: ConsumerCrashEvent): void {
    if (consumer !== this.options.consumer()) return;
    const { error, restart } = event.payload;
    this.options.emit({ type: "crashed", message: error.message, restart });
    this.options.logger.error({ err: error, restart }, "consumer crashed");
    this.releaseAll("consumer crashed");
    if (!restart) this.options.restartConsumer();
  }

  /** Ends every ownership (crash, stop). */
  releaseAll(reason: string): void {
    const released = this.options.ownership.releaseAll();
    this.joined = false;
    for (const ownership of released) this.revoke(ownership, reason);
    this.updateOwnershipGauges();
  }

  /** The ownership is already stale: stop applying, and leave a final generation behind if live. */
  private revoke(ownership: Ownership<PartitionState>, reason: string): void {
    this.options.emit({ type: "revoked", partition: ownership.partition, token: ownership.token, reason });
    this.options.metrics.consumerLag.remove({ partition: String(ownership.partition) });
    const state = ownership.state;
    // A revoked partition holds back no claim of the partitions restored with it.
    const tailDone = state?.tailDone;
    if (state !== undefined) state.tailDone = undefined;
    tailDone?.();
    // Its own claim, if not written yet, is given up with everything after it: a new owner may
    // restore before any of it lands and take the same epoch. The next owner replays from the
    // generation this instance restored.
    const claimAbandoned = state?.writer.abandonClaim() === true;
    if (ownership.phase === "live" && state !== undefined && !this.options.stopped() && !claimAbandoned) {
      // writeFinal never rejects: failures are logged and reported as events.
      void this.options.scheduler.writeFinal(state);
    }
  }

  /** Sets the owned-partitions gauge. */
  updateOwnershipGauges(): void {
    let restoring = 0;
    let live = 0;
    for (const ownership of this.options.ownership.all()) {
      if (ownership.phase === "live") live++;
      else restoring++;
    }
    this.options.metrics.ownedPartitions.set({ state: "restoring" }, restoring);
    this.options.metrics.ownedPartitions.set({ state: "live" }, live);
  }
}
