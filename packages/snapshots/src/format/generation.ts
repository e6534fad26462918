import {
  chunkChecksum,
  decodeDetailChunk,
  decodeSnapshotManifest,
  detailChunkRegistry,
  fingerprintFromHex,
  type DetailColumns,
  type SnapshotManifest,
} from "@usage-ledger/wire";
import { sameTotals, sliceColumns, type DetailStatistics } from "./columns";
import { errorMessage, SnapshotError, type SnapshotErrorCode } from "../errors";
import { parseSnapshotKey, type ChunkKey } from "./keys";

/** What a read of the snapshot topic found for one source partition: the latest value of each of its keys. */
export interface PartitionLog {
  readonly sourceTopic: string;
  readonly partition: number;
  /** Latest value per key in log order of first appearance; `null` = tombstone. */
  readonly values: Map<string, Buffer | null>;
}

/** A manifest that was not used, and why (newest first in a restore's report). */
export interface RejectedGeneration {
  readonly key: string;
  readonly epoch: number;
  /** `undefined` when the manifest itself could not be decoded. */
  readonly generation: number | undefined;
  readonly code: SnapshotErrorCode;
  readonly message: string;
}

/** A decodable manifest and its key. */
export interface ManifestCandidate {
  readonly key: string;
  readonly manifest: SnapshotManifest;
}

/** The highest writer epoch and generation any key of a partition carries (-1 when none). */
export interface Fence {
  readonly epoch: number;
  readonly generation: number;
}

/** Highest epoch and generation over every key of the partition, tombstones included. */
export function fenceOf(log: PartitionLog): Fence {
  let epoch = -1;
  let generation = -1;
  for (const key of log.values.keys()) {
    const parsed = parseSnapshotKey(key);
    if (parsed === undefined) continue;
    epoch = Math.max(epoch, parsed.epoch);
    if (parsed.type === "chunk") generation = Math.max(generation, parsed.generation);
  }
  for (const [key, value] of log.values) {
    if (value === null || !key.startsWith("m/")) continue;
    try {
      generation = Math.max(generation, decodeSnapshotManifest(value).generation);
    } catch {
      // An undecodable manifest carries no generation; its epoch counted above.
    }
  }
  return { epoch, generation };
}

/** Orders manifests newest first: higher epoch, then higher generation. */
export function compareManifests(a: SnapshotManifest, b: SnapshotManifest): number {
  if (a.writerEpoch !== b.writerEpoch) return b.writerEpoch - a.writerEpoch;
  return b.generation - a.generation;
}

/**
 * The partition's live manifests (latest value of each `m/` key), decoded and ordered newest first;
 * undecodable ones, or ones whose content does not match their key, are rejected with
 * `SNAPSHOT_INVALID_MANIFEST`.
 */
export function manifestCandidates(log: PartitionLog): { candidates: ManifestCandidate[]; rejected: RejectedGeneration[] } {
  const candidates: ManifestCandidate[] = [];
  const rejected: RejectedGeneration[] = [];
  for (const [key, value] of log.values) {
    const parsed = parseSnapshotKey(key);
    if (parsed?.type !== "manifest" || value === null) continue;
    try {
      const manifest = decodeSnapshotManifest(value);
      if (manifest.sourceTopic !== parsed.sourceTopic || manifest.partition !== parsed.partition || manifest.writerEpoch !== parsed.epoch) {
        throw new SnapshotError(
          "SNAPSHOT_INVALID_MANIFEST",
          `manifest content (${manifest.sourceTopic}/${String(manifest.partition)} epoch ${String(manifest.writerEpoch)}) does not match its key`,
        );
      }
      candidates.push({ key, manifest });
    } catch (error) {
      rejected.push({ key, epoch: parsed.epoch, generation: undefined, ...describe(error, "SNAPSHOT_INVALID_MANIFEST") });
    }
  }
  candidates.sort((a, b) => compareManifests(a.manifest, b.manifest));
  return { candidates, rejected };
}

/**
 * Checks that every chunk a manifest lists is present with the listed length and SHA-256, and
 * written with the manifest's chunk schema, which this reader must know. Returns the chunk values in
 * manifest order. Throws `SNAPSHOT_INVALID_MANIFEST` (a chunk key of another partition),
 * `SNAPSHOT_SCHEMA_MISMATCH`, `SNAPSHOT_CHUNK_MISSING` or `SNAPSHOT_CHECKSUM_MISMATCH`.
 */
export function verifyChunks(manifest: SnapshotManifest, values: ReadonlyMap<string, Buffer | null>): Buffer[] {
  const fingerprint = fingerprintFromHex(manifest.schemaFingerprint);
  if (fingerprint === undefined || !detailChunkRegistry.has(fingerprint)) {
    throw new SnapshotError("SNAPSHOT_SCHEMA_MISMATCH", `chunk schema ${manifest.schemaFingerprint} is not known to this reader`);
  }
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(fingerprint);
  return manifest.chunks.map((ref) => {
    const parsed = parseSnapshotKey(ref.key);
    if (parsed?.type !== "chunk" || parsed.sourceTopic !== manifest.sourceTopic || parsed.partition !== manifest.partition) {
      throw new SnapshotError(
        "SNAPSHOT_INVALID_MANIFEST",
        `manifest lists ${JSON.stringify(ref.key)}, not a chunk key of ${manifest.sourceTopic}/${String(manifest.partition)}`,
      );
    }
    const value = values.get(ref.key);
    if (value === undefined || value === null) {
      throw new SnapshotError("SNAPSHOT_CHUNK_MISSING", `chunk ${ref.key} is ${value === null ? "tombstoned" : "not on the topic"}`);
    }
    if (value.length !== ref.bytes || chunkChecksum(value) !== ref.checksum) {
      throw new SnapshotError(
        "SNAPSHOT_CHECKSUM_MISMATCH",
        `chunk ${ref.key}: ${String(value.length)} bytes do not match the manifest's ${String(ref.bytes)} bytes and checksum`,
      );
    }
    if (value.length < 10 || !value.subarray(2, 10).equals(header)) {
      throw new SnapshotError(
        "SNAPSHOT_SCHEMA_MISMATCH",
        `chunk ${ref.key} is not written with the manifest's chunk schema ${manifest.schemaFingerprint}`,
      );
    }
    return value;
  });
}

/** Options of {@link applyGeneration}. */
export interface ApplyGenerationOptions {
  /** The store to merge into; it holds details `[0, fromCount)` of this generation's lineage. */
  readonly target: DetailStatistics;
  readonly manifest: SnapshotManifest;
  /** The chunk values, as {@link verifyChunks} returns them. */
  readonly chunks: readonly Buffer[];
  /** Details the target already holds (0 for a restore into an empty store). */
  readonly fromCount: number;
  /** Called with every batch merged (rows at or past `fromCount`), after it is merged. */
  readonly onBatch?: (columns: DetailColumns) => void;
}

/**
 * Brings `target` from `fromCount` details to the generation's state: decodes the chunks that hold
 * details at or past `fromCount` (each checked against its key and the running detail offset) and
 * merges those rows in order; then checks the target's detail count and totals against the
 * manifest. Throws `SNAPSHOT_INVALID_CHUNK` or `SNAPSHOT_STATE_MISMATCH`; the target may then hold
 * part of the generation and must be discarded.
 */
export function applyGeneration(options: ApplyGenerationOptions): void {
  const { target, manifest, chunks, fromCount } = options;
  let offset = 0;
  manifest.chunks.forEach((ref, i) => {
    const end = offset + ref.detailCount;
    if (end > fromCount && ref.detailCount > 0) {
      const key = parseSnapshotKey(ref.key) as ChunkKey;
      const columns = decodeChunk(ref.key, key, chunks[i], offset, ref.detailCount);
      const batch = offset >= fromCount ? columns : sliceColumns(columns, fromCount - offset, columns.count);
      try {
        target.mergeDetails(batch);
      } catch (error) {
        throw new SnapshotError("SNAPSHOT_INVALID_CHUNK", `chunk ${ref.key} does not merge: ${errorMessage(error)}`, { cause: error });
      }
      options.onBatch?.(batch);
    }
    offset = end;
  });
  if (offset !== manifest.detailCount) {
    throw new SnapshotError(
      "SNAPSHOT_INVALID_MANIFEST",
      `chunks hold ${String(offset)} details, the manifest says ${String(manifest.detailCount)}`,
    );
  }
  const totals = target.totals();
  if (target.detailCount !== manifest.detailCount || !sameTotals(totals, manifest.totals)) {
    throw new SnapshotError(
      "SNAPSHOT_STATE_MISMATCH",
      `restored state (${String(target.detailCount)} details, totals ${JSON.stringify(totals)}) differs from the manifest's (${String(manifest.detailCount)} details, totals ${JSON.stringify(manifest.totals)})`,
    );
  }
}

function decodeChunk(keyText: string, key: ChunkKey, value: Buffer | undefined, offset: number, count: number): DetailColumns {
  if (value === undefined) throw new SnapshotError("SNAPSHOT_CHUNK_MISSING", `chunk ${keyText} was not supplied`);
  let chunk;
  try {
    chunk = decodeDetailChunk(value);
  } catch (error) {
    throw new SnapshotError("SNAPSHOT_INVALID_CHUNK", `chunk ${keyText} does not decode: ${errorMessage(error)}`, { cause: error });
  }
  const problems: string[] = [];
  if (chunk.sourceTopic !== key.sourceTopic || chunk.partition !== key.partition) problems.push("source partition");
  if (chunk.writerEpoch !== key.epoch || chunk.generation !== key.generation || chunk.chunkIndex !== key.index)
    problems.push("epoch/generation/index");
  if (chunk.detailOffset !== offset) problems.push(`detail offset ${String(chunk.detailOffset)} (expected ${String(offset)})`);
  if (chunk.columns.count !== count) problems.push(`detail count ${String(chunk.columns.count)} (manifest: ${String(count)})`);
  if (problems.length > 0) {
    throw new SnapshotError("SNAPSHOT_INVALID_CHUNK", `chunk ${keyText} does not match its key and manifest: ${problems.join(", ")}`);
  }
  return chunk.columns;
}

/** A rejection's code and message from anything thrown. */
function describe(error: unknown, fallback: SnapshotErrorCode): { code: SnapshotErrorCode; message: string } {
  if (error instanceof SnapshotError) return { code: error.code, message: error.message };
  return { code: fallback, message: errorMessage(error) };
}

/** The result of {@link selectGeneration}. */
export interface Selection<S> {
  /** The newest generation that verified and applied, or `undefined`. */
  readonly chosen:
    { readonly key: string; readonly manifest: SnapshotManifest; readonly statistics: S; readonly bytes: number } | undefined;
  /** Newer (or broken) manifests that were passed over, newest first, undecodable ones last. */
  readonly rejected: RejectedGeneration[];
}

/**
 * The restore rule: takes the partition's manifests newest first (higher epoch, then higher
 * generation) and returns the first whose chunks are all present with matching checksums and whose
 * state, rebuilt into a fresh store from `createStatistics` (given the manifest, so that the store
 * can be sized for it), matches the manifest's detail count and totals. Older or broken ones are
 * passed over (reported in `rejected`).
 */
export function selectGeneration<S extends DetailStatistics>(
  log: PartitionLog,
  createStatistics: (manifest: SnapshotManifest) => S,
): Selection<S> {
  const { candidates, rejected: undecodable } = manifestCandidates(log);
  const rejected: RejectedGeneration[] = [];
  for (const { key, manifest } of candidates) {
    try {
      const chunks = verifyChunks(manifest, log.values);
      const statistics = createStatistics(manifest);
      applyGeneration({ target: statistics, manifest, chunks, fromCount: 0 });
      const bytes = (log.values.get(key)?.length ?? 0) + chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      return { chosen: { key, manifest, statistics, bytes }, rejected: [...rejected, ...undecodable] };
    } catch (error) {
      rejected.push({ key, epoch: manifest.writerEpoch, generation: manifest.generation, ...describe(error, "SNAPSHOT_INVALID_CHUNK") });
    }
  }
  return { chosen: undefined, rejected: [...rejected, ...undecodable] };
}

/**
 * Detail rows to allocate for a store rebuilt from `manifest`: its details and room to grow (an
 * owner goes on applying), so that neither the rebuild nor the first records resize the store.
 */
export function capacityFor(manifest: SnapshotManifest): number {
  return manifest.detailCount + Math.max(1024, Math.ceil(manifest.detailCount / 8));
}

/** Keys of the partition that hold a value but are not part of `manifest` (all of them when it is `undefined`). */
export function orphanKeys(log: PartitionLog, manifestKey: string | undefined, manifest: SnapshotManifest | undefined): string[] {
  const live = new Set<string>(manifest?.chunks.map((ref) => ref.key) ?? []);
  if (manifestKey !== undefined) live.add(manifestKey);
  const orphans: string[] = [];
  for (const [key, value] of log.values) {
    if (value !== null && !live.has(key)) orphans.push(key);
  }
  return orphans;
}
