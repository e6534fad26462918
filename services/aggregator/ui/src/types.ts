/** The ledger API v1 bodies the page reads (shapes: services/aggregator/README.md, "Ledger API v1"). */

export type RangeName = "7h" | "24h" | "7d" | "all";

export interface Overview {
  range: RangeName;
  from: string | null;
  generated_at: string;
  totals: {
    requests: number;
    success: number;
    failure: number;
    tokens: { total: number; input: number; output: number; cached: number; reasoning: number };
    cost_usd: number;
    latency_ms_avg: number | null;
    latency_samples: number;
  };
  models_without_price: string[];
  rates: { window_minutes: number; requests: number; tokens: number; rpm: number; tpm: number };
  sparklines: { start: string; step_ms: number; requests: number[]; tokens: number[]; cost_usd: number[] };
  health: { start: string; step_ms: number; success: number[]; failure: number[] };
  feed: { details: number; pending: number };
}

export interface Series {
  granularity: "hour" | "day";
  truncated: boolean;
  buckets: string[];
  requests: number[];
  failures: number[];
  tokens: { total: number[]; input_uncached: number[]; cached: number[]; output: number[]; reasoning: number[] };
  cost_usd: number[];
  models: Array<{ model: string; requests: number[]; tokens: number[] }>;
}

export interface UsageRow {
  requests: number;
  success: number;
  failure: number;
  success_rate: number | null;
  tokens: number;
  cost_usd: number;
  latency_ms_avg: number | null;
}

export interface Tables {
  total_apis: number;
  total_models: number;
  total_credentials: number;
  apis: Array<UsageRow & { api: string; models: Array<UsageRow & { model: string }> }>;
  models: Array<UsageRow & { model: string; priced: boolean }>;
  credentials: Array<{
    source: string;
    auth_index: string;
    requests: number;
    success: number;
    failure: number;
    success_rate: number | null;
    tokens: number;
    latency_ms_avg: number | null;
  }>;
}

interface RecentRow {
  timestamp: string;
  api: string;
  model: string;
  source: string;
  auth_index: string;
  failed: boolean;
  latency_ms: number;
  tokens: { input: number; output: number; reasoning: number; cached: number; total: number };
  cost_usd: number | null;
}

export interface Recent {
  capacity: number;
  held: number;
  matching: number;
  offset: number;
  limit: number;
  filters: { apis: string[]; models: string[]; sources: string[] };
  rows: RecentRow[];
}

export interface ModelPriceJson {
  input: number;
  output: number;
  cached_input: number;
  reasoning?: number;
}

export interface Prices {
  origin: "file" | "topic";
  updated_at: string | null;
  version: 1;
  as_of: string;
  source: string;
  models: Record<string, ModelPriceJson>;
}
