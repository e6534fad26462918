import { isIP } from "node:net";
import { KafkaContractError } from "./errors";

/** One bootstrap broker: a host name, an IPv4 address or an IPv6 address (without brackets), and a port. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/** What a broker list must look like; the one wording every parser of a broker list uses. */
const EXPECTED = "expected a comma-separated host:port list, an IPv6 address in brackets ([::1]:9092)";

/** Host names and IPv4 addresses: letters, digits, '.', '-' and '_' (no scheme, path or colon). */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Parses one `host:port` or `[ipv6]:port` entry (port 1..65535); undefined when it is not one. */
export function parseBrokerAddress(entry: string): BrokerAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry.trim());
  if (match === null) return undefined;
  const [, bracketed, plain, portText] = match;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? { host: bracketed, port } : undefined;
  if (plain === undefined || !HOST_NAME.test(plain)) return undefined;
  return { host: plain, port };
}

/** `host:port`, with an IPv6 address in brackets. */
export function formatBrokerAddress(address: BrokerAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * What is wrong with a comma-separated broker list, or undefined when every entry is a broker
 * address (empty entries are skipped, so an empty list is fine here: the caller decides whether
 * it needs one).
 */
export function brokerListProblem(text: string): string | undefined {
  for (const entry of splitEntries(text)) {
    if (parseBrokerAddress(entry) === undefined) return `${JSON.stringify(entry)} is not host:port (${EXPECTED})`;
  }
  return undefined;
}

/**
 * Parses a comma-separated broker list (or a list of entries) into normalised `host:port`
 * strings; empty entries are skipped and undefined or blank text gives an empty list. Throws a
 * `KAFKA_BROKERS_INVALID` error naming `source` (default `KAFKA_BROKERS`) and the bad entry.
 */
export function parseBrokerList(text: string | readonly string[] | undefined, source = "KAFKA_BROKERS"): string[] {
  const joined = text === undefined ? "" : typeof text === "string" ? text : text.join(",");
  const problem = brokerListProblem(joined);
  if (problem !== undefined) throw new KafkaContractError("KAFKA_BROKERS_INVALID", `${source}: ${problem}`);
  return splitEntries(joined).map((entry) => formatBrokerAddress(parseBrokerAddress(entry) as BrokerAddress));
}

function splitEntries(text: string): string[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}
