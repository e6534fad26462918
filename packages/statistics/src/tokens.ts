import type { TokenCounts } from "./usage-record";

/**
 * The seed's token-total normalisation (`normaliseDetail` / `normaliseTokenStats`): a total of 0
 * becomes input + output + reasoning; if that is still 0, input + output + reasoning + cached. A
 * non-zero total (also a negative one) is kept as given.
 */
export function normaliseTotal(input: number, output: number, reasoning: number, cached: number, total: number): number {
  if (total !== 0) return total;
  const withoutCached = input + output + reasoning;
  return withoutCached !== 0 ? withoutCached : withoutCached + cached;
}

/** {@link normaliseTotal} applied to a {@link TokenCounts}. */
export function normaliseTokens(tokens: TokenCounts): TokenCounts {
  const totalTokens = normaliseTotal(
    tokens.inputTokens,
    tokens.outputTokens,
    tokens.reasoningTokens,
    tokens.cachedTokens,
    tokens.totalTokens,
  );
  return totalTokens === tokens.totalTokens ? tokens : { ...tokens, totalTokens };
}
