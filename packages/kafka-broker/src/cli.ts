import { fetchKafkaJars } from "./local-broker";
import { provideKafka } from "./provider";

/** `fetch` caches the broker's jars; `start` runs a broker until Ctrl-C. */
async function main(command: string | undefined): Promise<void> {
  const log = (line: string): void => console.log(`[kafka] ${line}`);
  switch (command) {
    case "fetch": {
      const dir = fetchKafkaJars({ onLine: log });
      log(`jars ready in ${dir}`);
      return;
    }
    case "start": {
      const kafka = await provideKafka({ kafkaBrokers: process.env.KAFKA_BROKERS, dockerHost: process.env.DOCKER_HOST, onLine: log });
      console.log(
        `\nKafka is reachable at ${kafka.brokers.join(",")}  (export KAFKA_BROKERS=${kafka.brokers.join(",")})\nCtrl-C stops it.`,
      );
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      log("stopping");
      await kafka.stop();
      log("stopped");
      return;
    }
    default:
      console.error("usage: cli.ts fetch|start");
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
