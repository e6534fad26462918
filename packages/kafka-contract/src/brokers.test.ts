import { describe, expect, it } from "vitest";
import { brokerListProblem, parseBrokerAddress, parseBrokerList } from "./brokers";
import { KafkaContractError } from "./errors";

describe("parseBrokerAddress", () => {
  it("reads host names, IPv4 and bracketed IPv6 addresses with a port", () => {
    expect(parseBrokerAddress("kafka-1.example.com:9092")).toEqual({ host: "kafka-1.example.com", port: 9092 });
    expect(parseBrokerAddress("127.0.0.1:1")).toEqual({ host: "127.0.0.1", port: 1 });
    expect(parseBrokerAddress(" [::1]:9092 ")).toEqual({ host: "::1", port: 9092 });
    expect(parseBrokerAddress("[fe80::1:2]:65535")).toEqual({ host: "fe80::1:2", port: 65_535 });
  });

  it("refuses anything else", () => {
    for (const entry of [
      "localhost",
      "localhost:",
      ":9092",
      "host:0",
      "host:65536",
      "host:123456",
      "::1:9092",
      "[::1]",
      "[nonsense]:9092",
      "[127.0.0.1]:9092",
      "PLAINTEXT://host:9092",
      "host/path:9092",
      "host name:9092",
      "-host:9092",
    ]) {
      expect(parseBrokerAddress(entry), entry).toBeUndefined();
    }
  });
});

describe("parseBrokerList", () => {
  it("splits, trims, skips empty entries and normalises", () => {
    expect(parseBrokerList(" k1:9092, k2:9093 ,,[0:0:0:0:0:0:0:1]:9094")).toEqual(["k1:9092", "k2:9093", "[0:0:0:0:0:0:0:1]:9094"]);
    expect(parseBrokerList(["k1:1", "k2:2"])).toEqual(["k1:1", "k2:2"]);
    expect(parseBrokerList(undefined)).toEqual([]);
    expect(parseBrokerList("  ")).toEqual([]);
  });

  it("throws KAFKA_BROKERS_INVALID naming the source and the first bad entry, in the one wording", () => {
    let thrown: unknown;
    try {
      parseBrokerList("k1:9092,localhost", "--kafka-brokers");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KafkaContractError);
    expect(thrown).toMatchObject({
      code: "KAFKA_BROKERS_INVALID",
      retryable: false,
      message: `--kafka-brokers: ${brokerListProblem("localhost")}`,
    });
    expect(brokerListProblem("localhost")).toBe(
      '"localhost" is not host:port (expected a comma-separated host:port list, an IPv6 address in brackets ([::1]:9092))',
    );
    expect(brokerListProblem("a:1,b:2")).toBeUndefined();
  });
});
