import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { repositoryRoot } from "@usage-ledger/kafka-broker";

/**
 * CPU profiles of a benchmark window: V8's sampling profiler (what `node --cpu-prof` writes),
 * started and stopped in-process around exactly the timed part of one extra, unmeasured run, and
 * summarised as the functions with the most self time.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

/** A `.cpuprofile` document (Chrome DevTools format). */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** One function's share of the samples. */
interface SelfTimeEntry {
  readonly function: string;
  /** `path:line` (repository-relative for workspace and node_modules files). */
  readonly location: string;
  readonly selfMs: number;
  readonly selfPercent: number;
}

/** Self time per owner (a workspace package, a dependency, Node's internals, GC, idle). */
interface OwnerEntry {
  readonly owner: string;
  readonly selfMs: number;
  readonly selfPercent: number;
}

/** Time of the samples whose stack passes through one stage of the pipeline. */
interface StageEntry {
  readonly stage: string;
  readonly ms: number;
  readonly percent: number;
}

/** The summary of a profile: its length, top functions, owners and pipeline stages. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly top: readonly SelfTimeEntry[];
  readonly owners: readonly OwnerEntry[];
  readonly stages: readonly StageEntry[];
}

/** A stage of the pipeline: a sample belongs to the first stage (in list order) with a matching frame on its stack. */
export interface Stage {
  readonly label: string;
  /** `functionName` and the repository-relative (or node_modules-relative) path of a frame. */
  readonly matches: (functionName: string, path: string) => boolean;
}

/** The stages of the aggregator's ingest and restart paths. */
export const AGGREGATOR_STAGES: readonly Stage[] = [
  { label: "V8 garbage collector", matches: (name) => name === "(garbage collector)" },
  { label: "idle (waiting for the broker)", matches: (name) => name === "(idle)" },
  {
    label: "fleet view following the snapshot topic (packages/snapshots reader.ts via services/aggregator fleet-view.ts)",
    matches: (_name, path) => path.endsWith("packages/snapshots/src/kafka/reader.ts"),
  },
  {
    label: "snapshot writing: claim and generations (packages/snapshots writer.ts)",
    matches: (_name, path) => path.endsWith("packages/snapshots/src/kafka/writer.ts"),
  },
  {
    label: "restore: read and rebuild (packages/snapshots restore.ts)",
    matches: (_name, path) => path.endsWith("packages/snapshots/src/kafka/restore.ts"),
  },
  {
    label: "record decoding: decodeUsageRecord (packages/wire, avsc)",
    matches: (_name, path) => path.includes("packages/wire/") || path.includes("node_modules/avsc/"),
  },
  {
    label: "RequestStatistics.apply (packages/statistics)",
    matches: (name, path) => name === "apply" && path.endsWith("packages/statistics/src/request-statistics.ts"),
  },
  {
    label: "rest of the batch handler (services/aggregator ingest/)",
    matches: (_name, path) => path.includes("services/aggregator/src/ingest/"),
  },
  { label: "kafkajs: fetch, record-batch decode, protocol", matches: (_name, path) => path.includes("node_modules/kafkajs/") },
];

/** A started profile; `stop()` returns it. */
export interface RunningProfile {
  stop(): Promise<CpuProfile>;
}

/** Starts V8's CPU profiler in this process (sampling every `intervalUs`). */
export async function startCpuProfile(intervalUs = 500): Promise<RunningProfile> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((done, fail) => {
      session.post(method, params, (error, result) => (error ? fail(error) : done(result)));
    });
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: intervalUs });
  await post("Profiler.start");
  return {
    async stop() {
      const result = (await post("Profiler.stop")) as { profile: CpuProfile };
      await post("Profiler.disable");
      session.disconnect();
      return result.profile;
    },
  };
}

/** Writes a profile where Chrome DevTools / speedscope can open it. */
export function saveCpuProfile(path: string, profile: CpuProfile): void {
  writeFileSync(path, JSON.stringify(profile));
}

function pathOf(url: string): string {
  return url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
}

function location(url: string, line: number): string {
  const path = pathOf(url);
  const shown = path.startsWith(repositoryRoot) ? relative(repositoryRoot, path) : path;
  const pnpmStore = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(shown);
  if (pnpmStore?.[1]) return `node_modules/${pnpmStore[1]}:${line + 1}`;
  // tsx compiles a TypeScript file without keeping its lines: the file alone says where.
  return shown.endsWith(".ts") ? shown : `${shown}:${line + 1}`;
}

const SPECIAL_OWNERS: ReadonlyMap<string, string> = new Map([
  ["(garbage collector)", "V8 garbage collector"],
  ["(idle)", "idle (waiting for I/O: the broker)"],
  ["(program)", "V8 / native (program)"],
  ["(root)", "V8 / native (program)"],
]);

/** The workspace package or dependency a script belongs to; undefined for Node's own and native code. */
function ownerOfUrl(url: string): string | undefined {
  const path = pathOf(url);
  if (path === "" || path.startsWith("node:")) return undefined;
  if (!path.startsWith("/")) return "generated code (new Function, e.g. avsc's compiled readers)";
  const dependency = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dependency?.[1] && !dependency[1].startsWith("@usage-ledger")) return `dependency ${dependency[1]}`;
  const workspace = /^(packages|services|bench)\/([^/]+)\//.exec(path.startsWith(repositoryRoot) ? relative(repositoryRoot, path) : "");
  if (workspace) return workspace[1] === "bench" ? "bench harness" : `${workspace[1]}/${workspace[2]}`;
  return path;
}

/** A frame's path as stages match it: repository-relative, or `node_modules/<package>/...`. */
export function stagePath(url: string): string {
  const path = pathOf(url);
  const shown = path.startsWith(repositoryRoot) ? relative(repositoryRoot, path) : path;
  const pnpmStore = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(shown);
  return pnpmStore?.[1] ? `node_modules/${pnpmStore[1]}` : shown;
}

/** Sums self time per function, per owner and per stage; `top` keeps the `limit` largest functions. */
export function summariseCpuProfile(profile: CpuProfile, limit = 15, stageList: readonly Stage[] = AGGREGATOR_STAGES): ProfileSummary {
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // The delta before sample i+1 is the time spent at sample i.
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      const spent = deltas[i + 1] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, spent));
    }
  } else {
    const interval = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
    for (const node of profile.nodes) selfUs.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node);
  }
  // Native and Node-internal frames (utf8Slice, Buffer copies) are charged to the nearest caller
  // that belongs to a package: that caller is what spends the time.
  const callerOf = (node: ProfileNode): ProfileNode | undefined => {
    for (let up = parent.get(node.id); up !== undefined; up = parent.get(up.id)) {
      if (ownerOfUrl(up.callFrame.url) !== undefined) return up;
    }
    return undefined;
  };
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  const byOwner = new Map<string, number>();
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const special = SPECIAL_OWNERS.get(functionName);
    let owner = special ?? ownerOfUrl(url);
    let name = functionName === "" ? "(anonymous)" : functionName;
    let where = url === "" ? "" : location(url, lineNumber);
    if (owner === undefined) {
      const caller = callerOf(node);
      owner = caller === undefined ? "Node.js internals / native" : (ownerOfUrl(caller.callFrame.url) ?? "Node.js internals / native");
      if (caller !== undefined) {
        name = `${name} (native, from ${caller.callFrame.functionName || "(anonymous)"})`;
        where = location(caller.callFrame.url, caller.callFrame.lineNumber);
      } else {
        name = `${name} (native)`;
      }
    }
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { function: name, location: where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const byStage = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const frames: Array<{ name: string; path: string }> = [];
    for (let at: ProfileNode | undefined = node; at !== undefined; at = parent.get(at.id)) {
      frames.push({ name: at.callFrame.functionName, path: stagePath(at.callFrame.url) });
    }
    const stage = stageList.find((candidate) => frames.some((frame) => candidate.matches(frame.name, frame.path)));
    const label = stage?.label ?? "other";
    byStage.set(label, (byStage.get(label) ?? 0) + us);
  }
  const percent = (us: number): number => (totalUs === 0 ? 0 : Math.round((us / totalUs) * 1000) / 10);
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const top = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((entry) => ({ function: entry.function, location: entry.location, selfMs: ms(entry.us), selfPercent: percent(entry.us) }));
  const owners = [...byOwner.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([owner, us]) => ({ owner, selfMs: ms(us), selfPercent: percent(us) }));
  const stages = [...stageList.map((stage) => stage.label), "other"]
    .filter((label) => byStage.has(label))
    .map((label) => ({ stage: label, ms: ms(byStage.get(label) ?? 0), percent: percent(byStage.get(label) ?? 0) }));
  return { totalMs: ms(totalUs), top, owners, stages };
}
