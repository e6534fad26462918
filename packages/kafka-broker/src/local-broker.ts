import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { KafkaBrokerError } from "./errors";

/** The repository root, found from this file (packages/kafka-broker/src). */
export const repositoryRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

/** Where infra/kafka keeps its pom, server.properties and log4j2 settings. */
const infraKafkaDir = join(repositoryRoot, "infra", "kafka");

/** The Kafka version the local broker runs; infra/kafka/pom.xml pins the same. */
export const kafkaVersion = readKafkaVersion();

/** Options of {@link fetchKafkaJars}. */
export interface FetchKafkaJarsOptions {
  /** Folder that holds one sub-folder per Kafka version; default `<repo>/.cache/kafka`. */
  readonly cacheDir?: string;
  /** Called with progress lines. */
  readonly onLine?: (line: string) => void;
}

/**
 * Fetches the broker's jars from Maven Central through Maven, once: a later call finds the
 * complete cache folder and returns at once. Returns the folder that holds the jars.
 */
export function fetchKafkaJars(options: FetchKafkaJarsOptions = {}): string {
  const cacheDir = options.cacheDir ?? join(repositoryRoot, ".cache", "kafka");
  const libsDir = join(cacheDir, kafkaVersion, "libs");
  const marker = join(cacheDir, kafkaVersion, "complete");
  if (existsSync(marker)) return libsDir;
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) {
    throw new KafkaBrokerError(
      "KAFKA_JAVA_MISSING",
      "The local Kafka broker needs Java 17 or later on the PATH (`java -version` failed). Install a JDK, or set KAFKA_BROKERS to an existing cluster.",
    );
  }
  const mvnVersion = spawnSync("mvn", ["-v"], { encoding: "utf8" });
  if (mvnVersion.error || mvnVersion.status !== 0) {
    throw new KafkaBrokerError(
      "KAFKA_MAVEN_MISSING",
      "Fetching the Kafka broker jars from Maven Central needs Maven (`mvn -v` failed). Install Maven, or set KAFKA_BROKERS to an existing cluster.",
    );
  }
  options.onLine?.(`fetching Apache Kafka ${kafkaVersion} jars from Maven Central into ${libsDir}`);
  mkdirSync(libsDir, { recursive: true });
  const result = spawnSync(
    "mvn",
    [
      "-B",
      "-q",
      "-f",
      join(infraKafkaDir, "pom.xml"),
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${libsDir}`,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-30).join("\n");
    throw new KafkaBrokerError(
      "KAFKA_FETCH_FAILED",
      `Maven could not fetch org.apache.kafka:kafka_2.13:${kafkaVersion} and its runtime dependencies ` +
        `(infra/kafka/pom.xml) from Maven Central. Maven said:\n${output}`,
    );
  }
  const jars = readdirSync(libsDir).filter((name) => name.endsWith(".jar"));
  for (const required of [`kafka_2.13-${kafkaVersion}.jar`, `kafka-clients-${kafkaVersion}.jar`]) {
    if (!jars.includes(required)) {
      throw new KafkaBrokerError("KAFKA_FETCH_FAILED", `The fetch finished but ${required} is missing from ${libsDir}.`);
    }
  }
  if (!jars.some((name) => name.startsWith("log4j-core-"))) {
    throw new KafkaBrokerError("KAFKA_FETCH_FAILED", `No logging backend (log4j-core) in ${libsDir}.`);
  }
  writeFileSync(marker, `${jars.length} jars\n`);
  return libsDir;
}

/** Options of {@link startLocalBroker}. */
export interface LocalBrokerOptions {
  /** Client port on 127.0.0.1; default: a free port. */
  readonly port?: number;
  /** Controller port on 127.0.0.1; default: a free port. */
  readonly controllerPort?: number;
  /** Folder for data, config, pid and log; default: a new temporary folder. Reusing one keeps the data. */
  readonly workDir?: string;
  /** Java heap in MiB; default 768. */
  readonly heapMb?: number;
  /** How long to wait for the broker to answer a metadata request; default 120 s. */
  readonly startTimeoutMs?: number;
  /** Kept alive only while this process lives (default true): a watchdog ends the broker when its parent dies. */
  readonly dieWithParent?: boolean;
  readonly onLine?: (line: string) => void;
}

/** A running local broker. */
export interface LocalBroker {
  /** `127.0.0.1:<port>` */
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly workDir: string;
  readonly logFile: string;
  readonly pidFile: string;
  /** The pid of the broker's JVM. */
  pid(): number;
  /** Ends the broker (SIGTERM, then SIGKILL after `graceMs`) and waits until its pid is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Kills the broker with SIGKILL and waits until its pid is gone: a crash, for tests. */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data after `stop` or `kill`. */
  restart(): Promise<void>;
}

/** Starts a single-node KRaft broker (combined broker and controller) on 127.0.0.1. */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const libsDir = fetchKafkaJars(options.onLine ? { onLine: options.onLine } : {});
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "usage-ledger-kafka-")));
  mkdirSync(workDir, { recursive: true });
  const settingsFile = join(workDir, "ports.json");
  const saved = existsSync(settingsFile)
    ? (JSON.parse(readFileSync(settingsFile, "utf8")) as { port: number; controllerPort: number })
    : undefined;
  const port = options.port ?? saved?.port ?? (await freePort());
  const controllerPort = options.controllerPort ?? saved?.controllerPort ?? (await freePort());
  writeFileSync(settingsFile, JSON.stringify({ port, controllerPort }));
  const dataDir = join(workDir, "data");
  const configFile = join(workDir, "server.properties");
  const logFile = join(workDir, "broker.log");
  const pidFile = join(workDir, "broker.pid");
  const template = readFileSync(join(infraKafkaDir, "server.properties"), "utf8");
  writeFileSync(
    configFile,
    template.replaceAll("@PORT@", String(port)).replaceAll("@CONTROLLER_PORT@", String(controllerPort)).replaceAll("@DATA_DIR@", dataDir),
  );
  const heapMb = options.heapMb ?? 768;
  const classpath = `${libsDir}/*`;
  const jvmArgs = [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    "-XX:+UseG1GC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${join(infraKafkaDir, "log4j2.properties")}`,
    "-cp",
    classpath,
  ];
  if (!existsSync(join(dataDir, "meta.properties"))) {
    const clusterId = randomBytes(16).toString("base64url");
    const format = spawnSync(
      "java",
      // `--cluster-id=<id>`, not `-t <id>`: a base64url id may start with "-", which the tool's
      // argument parser would take for an option.
      [...jvmArgs, "kafka.tools.StorageTool", "format", `--cluster-id=${clusterId}`, "-c", configFile, "--ignore-formatted"],
      { encoding: "utf8" },
    );
    if (format.status !== 0) {
      throw new KafkaBrokerError(
        "KAFKA_START_FAILED",
        `Formatting the broker storage in ${dataDir} failed:\n${format.stdout}\n${format.stderr}`,
      );
    }
  }

  let javaPid = 0;
  const launch = async (): Promise<void> => {
    const log = createWriteStream(logFile, { flags: "a" });
    await new Promise<void>((done) => log.once("open", () => done()));
    const java = ["java", ...jvmArgs, "kafka.Kafka", configFile].map(shellQuote).join(" ");
    // The watchdog shell ends the JVM when the process that started it dies, so no broker
    // outlives its test run or its main command, even after a SIGKILL of the parent.
    const script =
      options.dieWithParent === false
        ? `exec ${java}`
        : `${java} & jp=$!; echo $jp > ${shellQuote(pidFile)}; ` +
          `trap 'kill $jp 2>/dev/null; wait $jp; exit 0' TERM INT; ` +
          `while kill -0 ${process.pid} 2>/dev/null && kill -0 $jp 2>/dev/null; do sleep 1; done; ` +
          `kill $jp 2>/dev/null; wait $jp`;
    const child = spawn("bash", ["-c", script], { stdio: ["ignore", log, log], detached: true });
    child.unref();
    if (options.dieWithParent === false) {
      javaPid = child.pid ?? 0;
      writeFileSync(pidFile, `${javaPid}\n`);
    } else {
      javaPid = await readPidFile(pidFile, child.pid ?? 0);
    }
    await waitForMetadata([`127.0.0.1:${port}`], options.startTimeoutMs ?? 120_000, logFile, () => isAlive(javaPid));
  };

  const waitGone = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (isAlive(javaPid)) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  };

  // A stale pid file from an earlier run must not make us wait for someone else's process.
  writeFileSync(pidFile, "");
  await launch();
  options.onLine?.(`Kafka ${kafkaVersion} broker at 127.0.0.1:${port} (pid ${javaPid}, log ${logFile})`);

  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    controllerPort,
    workDir,
    logFile,
    pidFile,
    pid: () => javaPid,
    async stop(graceMs = 20_000) {
      if (!isAlive(javaPid)) return;
      process.kill(javaPid, "SIGTERM");
      if (!(await waitGone(graceMs))) {
        process.kill(javaPid, "SIGKILL");
        await waitGone(10_000);
      }
    },
    async kill() {
      if (!isAlive(javaPid)) return;
      process.kill(javaPid, "SIGKILL");
      await waitGone(10_000);
    },
    async restart() {
      if (isAlive(javaPid)) throw new KafkaBrokerError("KAFKA_START_FAILED", "restart() needs the broker stopped first");
      writeFileSync(pidFile, "");
      await launch();
    },
  };
}

/** True while a process with this pid exists (and is not a zombie we could reap). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** A free TCP port on 127.0.0.1, as the OS hands one out. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Waits until a broker answers a metadata request. */
export async function waitForMetadata(
  brokers: string[],
  timeoutMs: number,
  logFile?: string,
  alive: () => boolean = () => true,
): Promise<void> {
  const kafka = new Kafka({
    clientId: "usage-ledger-broker-probe",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!alive()) break;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      await admin.disconnect().catch(() => undefined);
      await sleep(250);
    }
  }
  const tail = logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-25).join("\n") : "";
  throw new KafkaBrokerError(
    "KAFKA_START_FAILED",
    `The broker at ${brokers.join(",")} did not answer a metadata request (${alive() ? "timed out" : "the process exited"}; last error: ${lastError}).\n${tail}`,
  );
}

async function readPidFile(pidFile: string, shellPid: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const text = existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim() : "";
    if (text !== "") return Number(text);
    if (!isAlive(shellPid)) break;
    await sleep(25);
  }
  throw new KafkaBrokerError("KAFKA_START_FAILED", `The broker launcher wrote no pid to ${pidFile}.`);
}

function readKafkaVersion(): string {
  const pom = readFileSync(join(infraKafkaDir, "pom.xml"), "utf8");
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match?.[1]) throw new KafkaBrokerError("KAFKA_FETCH_FAILED", "infra/kafka/pom.xml names no kafka.version");
  return match[1];
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
