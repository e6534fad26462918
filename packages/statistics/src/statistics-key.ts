import type { UsageRecord } from "./usage-record";

/**
 * The seed's statistics key of a record: the API key; when empty, the endpoint (`METHOD /path`);
 * else the provider; else `unknown`. Publishers key messages by it, so all records the core counts
 * under one key land on one partition (and one aggregator owns that key's state).
 */
export function statisticsKey(record: UsageRecord): string {
  if (record.apiKey !== "") return record.apiKey;
  if (record.endpoint !== "") return record.endpoint;
  if (record.provider !== "") return record.provider;
  return "unknown";
}
