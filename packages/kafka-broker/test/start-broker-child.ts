// Started by local-broker.int.test.ts: starts a broker, prints its pid, then waits to be killed.
import { startLocalBroker } from "../src/local-broker";

const broker = await startLocalBroker({ workDir: process.argv[2] ?? "", heapMb: 384 });
console.log(`pid=${broker.pid()}`);
setInterval(() => undefined, 60_000);
