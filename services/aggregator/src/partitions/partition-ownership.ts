/**
 * Explicit partition ownership for a kafkajs consumer (kafkajs has no revoke callback).
 *
 * Every owned partition moves through `restoring` (paused: its newest snapshot generation is being
 * restored) to `live` (its records are applied). Each ownership carries a token; an ownership ends
 * (the token becomes stale) when a group join no longer assigns the partition, when the member id
 * changes (this instance was dropped from the group, so another member may have owned the partition
 * in between) or when the consumer crashes or stops. Work started under a stale token (a restore,
 * a batch, a snapshot) must be dropped: an instance never applies a partition it no longer owns.
 *
 * kafkajs uses the eager rebalance protocol: a member that keeps its member id took part in every
 * generation of the group, so a partition assigned in two consecutive joins of the same member id
 * was owned by nobody else in between and keeps its state (it is only re-sought to where that state
 * ends, because kafkajs resumes from committed offsets).
 */

/** Where an owned partition is in its life. */
export type PartitionPhase = "restoring" | "live";

/** One owned partition. */
export interface Ownership<T> {
  readonly partition: number;
  /** Changes whenever ownership is (re)acquired; stale tokens mean "not ours any more". */
  readonly token: number;
  phase: PartitionPhase;
  /** The caller's runtime state of the partition (statistics, offsets, writer), set once restored. */
  state: T | undefined;
}

/** What a group join changed. */
export interface AssignmentChange<T> {
  /** Newly owned (or owned again after a gap): pause, restore, then apply. Ascending. */
  readonly acquired: readonly Ownership<T>[];
  /** Owned before and now, continuously: keep the state, seek to where it ends. Ascending. */
  readonly retained: readonly Ownership<T>[];
  /** Owned before, not now: stop applying at once (their tokens are stale). Ascending by partition. */
  readonly revoked: readonly Ownership<T>[];
}

/** The ownership table of one consumer. */
export class PartitionOwnership<T> {
  private memberId: string | undefined;
  private readonly owned = new Map<number, Ownership<T>>();
  private nextToken = 1;

  /** Applies a group join (kafkajs GROUP_JOIN: member id and this member's partitions of the topic). */
  join(memberId: string, assigned: readonly number[]): AssignmentChange<T> {
    const sameMember = this.memberId !== undefined && this.memberId === memberId;
    this.memberId = memberId;
    const wanted = new Set(assigned);
    const revoked: Ownership<T>[] = [];
    const retained: Ownership<T>[] = [];
    for (const ownership of [...this.owned.values()].sort(byPartition)) {
      if (sameMember && wanted.has(ownership.partition)) {
        retained.push(ownership);
      } else {
        revoked.push(ownership);
        this.owned.delete(ownership.partition);
      }
    }
    const acquired: Ownership<T>[] = [];
    for (const partition of [...wanted].sort((a, b) => a - b)) {
      if (this.owned.has(partition)) continue;
      const ownership: Ownership<T> = { partition, token: this.nextToken++, phase: "restoring", state: undefined };
      this.owned.set(partition, ownership);
      acquired.push(ownership);
    }
    return { acquired, retained, revoked };
  }

  /**
   * Ends every ownership (the consumer crashed, stopped or left the group): returns what was
   * owned. The next join starts afresh, whatever its member id.
   */
  releaseAll(): Ownership<T>[] {
    const released = [...this.owned.values()].sort(byPartition);
    this.owned.clear();
    this.memberId = undefined;
    return released;
  }

  /**
   * Ends the current ownership of an assigned partition and starts a new one under a fresh token
   * (`restoring`): for a partition whose state must be restored again while it stays assigned (a
   * newer writer epoch showed up for it). Undefined when the partition is not owned.
   */
  renew(partition: number): { revoked: Ownership<T>; acquired: Ownership<T> } | undefined {
    const revoked = this.owned.get(partition);
    if (revoked === undefined) return undefined;
    const acquired: Ownership<T> = { partition, token: this.nextToken++, phase: "restoring", state: undefined };
    this.owned.set(partition, acquired);
    return { revoked, acquired };
  }

  /**
   * Ends the ownership of one partition without a group join (this instance found out it is no
   * longer the partition's owner in the group); the next join decides afresh. Undefined when not owned.
   */
  release(partition: number): Ownership<T> | undefined {
    const released = this.owned.get(partition);
    this.owned.delete(partition);
    return released;
  }

  /** The current ownership of a partition, if this instance owns it. */
  get(partition: number): Ownership<T> | undefined {
    return this.owned.get(partition);
  }

  /** True while `token` is the current ownership of `partition`. */
  isCurrent(partition: number, token: number): boolean {
    return this.owned.get(partition)?.token === token;
  }

  /** The live ownership of `partition` (restored, applying), if any. */
  live(partition: number): Ownership<T> | undefined {
    const ownership = this.owned.get(partition);
    return ownership !== undefined && ownership.phase === "live" ? ownership : undefined;
  }

  /** Marks a restored partition live with its state; false (and nothing changed) when `token` is stale. */
  goLive(partition: number, token: number, state: T): boolean {
    const ownership = this.owned.get(partition);
    if (ownership === undefined || ownership.token !== token) return false;
    ownership.state = state;
    ownership.phase = "live";
    return true;
  }

  /** Every current ownership, ascending by partition. */
  all(): Ownership<T>[] {
    return [...this.owned.values()].sort(byPartition);
  }

  /** The partitions owned now, ascending. */
  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }
}

function byPartition<T>(a: Ownership<T>, b: Ownership<T>): number {
  return a.partition - b.partition;
}
