import { Session } from "node:inspector";
import { AGGREGATOR_STAGES, stagePath } from "./cpu-profile";
import type { Stage } from "./cpu-profile";

/**
 * Where a run allocates (what keeps V8's garbage collector busy): V8's sampling heap profiler with
 * the objects that minor and major collections reclaimed kept in the profile, so it counts every
 * sampled allocation, not only what is still alive at the end.
 */

interface AllocationNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly AllocationNode[];
}

/** A sampling heap profile (Chrome DevTools `HeapProfiler.SamplingHeapProfile`). */
export interface AllocationProfile {
  readonly head: AllocationNode;
}

/** Allocated bytes by stage and by allocating function. */
export interface AllocationSummary {
  readonly totalMiB: number;
  readonly stages: ReadonlyArray<{ readonly stage: string; readonly mib: number; readonly percent: number }>;
  readonly top: ReadonlyArray<{ readonly function: string; readonly location: string; readonly mib: number; readonly percent: number }>;
}

/** A started allocation sampling; `stop()` returns the profile. */
export interface RunningAllocationProfile {
  stop(): Promise<AllocationProfile>;
}

/** Starts sampling allocations (one sample per `intervalBytes` on average), collected objects included. */
export async function startAllocationProfile(intervalBytes = 64 * 1024): Promise<RunningAllocationProfile> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((done, fail) => {
      session.post(method, params, (error, result) => (error ? fail(error) : done(result)));
    });
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const result = (await post("HeapProfiler.stopSampling")) as { profile: AllocationProfile };
      await post("HeapProfiler.disable");
      session.disconnect();
      return result.profile;
    },
  };
}

/** Sums the sampled bytes per stage (first matching frame on the allocation's stack) and per function. */
export function summariseAllocations(
  profile: AllocationProfile,
  limit = 12,
  stageList: readonly Stage[] = AGGREGATOR_STAGES,
): AllocationSummary {
  const byStage = new Map<string, number>();
  const byFunction = new Map<string, { function: string; location: string; bytes: number }>();
  let total = 0;
  const walk = (node: AllocationNode, stack: ReadonlyArray<{ name: string; path: string }>): void => {
    const frame = { name: node.callFrame.functionName, path: stagePath(node.callFrame.url) };
    const frames = [...stack, frame];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const stage = stageList.find((candidate) => frames.some((entry) => candidate.matches(entry.name, entry.path)));
      const label = stage?.label ?? "other";
      byStage.set(label, (byStage.get(label) ?? 0) + node.selfSize);
      // Allocations inside Node or V8 are charged to the nearest frame with a file.
      const owner = [...frames].reverse().find((entry) => entry.path !== "" && !entry.path.startsWith("node:")) ?? frame;
      const name = owner === frame ? frame.name || "(anonymous)" : `${frame.name || "(anonymous)"} in ${owner.name || "(anonymous)"}`;
      const key = `${name}@${owner.path}`;
      const entry = byFunction.get(key) ?? { function: name, location: owner.path, bytes: 0 };
      entry.bytes += node.selfSize;
      byFunction.set(key, entry);
    }
    for (const child of node.children) walk(child, frames);
  };
  walk(profile.head, []);
  const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  const percent = (bytes: number): number => (total === 0 ? 0 : Math.round((bytes / total) * 1000) / 10);
  const stages = [...stageList.map((stage) => stage.label), "other"]
    .filter((label) => byStage.has(label))
    .map((label) => ({ stage: label, mib: mib(byStage.get(label) ?? 0), percent: percent(byStage.get(label) ?? 0) }));
  const top = [...byFunction.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit)
    .map((entry) => ({ function: entry.function, location: entry.location, mib: mib(entry.bytes), percent: percent(entry.bytes) }));
  return { totalMiB: mib(total), stages, top };
}
