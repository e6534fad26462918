import { z } from "zod";
import { CELL } from "../insights/usage-cells";

/**
 * Per-model prices in USD per 1,000,000 tokens, and what a cell of usage costs with them:
 *
 *   cost = ((input − cached) × input + cached × cached_input + output × output
 *           + reasoning × reasoning (only when the model has a reasoning price)) / 1,000,000
 *
 * as the Management Center's Usage page computed it (input minus cached at the prompt price, cached
 * at the cache price, output at the completion price), plus a separate reasoning price for
 * providers that report reasoning tokens outside the output count. A missing `cached_input` is the
 * input price (the page's rule). Prices apply to a model name exactly as the proxies report it.
 */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
  /** Only for models whose reasoning tokens are billed on top of the output tokens. */
  readonly reasoning: number | undefined;
}

/** A whole price table: where its prices come from and the prices per model. */
export interface PriceTable {
  /** The date the prices were read from their source (YYYY-MM-DD), or "" when unknown. */
  readonly asOf: string;
  /** Where the prices come from (a URL, a package, "edited on the dashboard"). */
  readonly source: string;
  readonly models: ReadonlyMap<string, ModelPrice>;
}

/** The largest price accepted, USD per 1M tokens (a typo guard, far above any real price). */
const MAX_PRICE = 100_000;
/** The most models one table may hold. */
export const MAX_PRICED_MODELS = 5_000;

const price = z.number({ error: "must be a number" }).min(0, "must not be negative").max(MAX_PRICE, `must be at most ${MAX_PRICE}`);

const modelPriceJson = z.strictObject(
  {
    input: price,
    output: price,
    cached_input: price.optional(),
    reasoning: price.nullable().optional(),
  },
  { error: "must be an object with input, output and optional cached_input and reasoning (USD per 1M tokens)" },
);

/** Why a model name is refused, or undefined. */
function modelNameProblem(name: string): string | undefined {
  if (name === "") return "a model name must not be empty";
  if (name.length > 256) return "a model name must be at most 256 characters";
  if (name.trim() !== name) return "a model name must not start or end with spaces";
  return undefined;
}

/** Models keyed by name; names checked one by one (so each problem names its model). */
function modelsOf<T extends z.ZodType>(value: T) {
  return z.record(z.string(), value).superRefine((models, context) => {
    const names = Object.keys(models);
    for (const name of names) {
      const problem = modelNameProblem(name);
      if (problem !== undefined) context.addIssue({ code: "custom", message: problem, path: [name] });
    }
    if (names.length > MAX_PRICED_MODELS) context.addIssue({ code: "custom", message: `at most ${MAX_PRICED_MODELS} models` });
  });
}

const priceTableJson = z.strictObject(
  {
    version: z.literal(1, { error: "version must be 1" }).optional(),
    as_of: z
      .string()
      .regex(/^(\d{4}-\d{2}-\d{2})?$/, "as_of must be a date YYYY-MM-DD")
      .optional(),
    source: z.string().max(500, "source must be at most 500 characters").optional(),
    models: modelsOf(modelPriceJson),
  },
  { error: "must be an object with models (and optional version, as_of, source)" },
);

/** The JSON form of one model's price (file, topic, HTTP). */
interface ModelPriceJson {
  input: number;
  output: number;
  cached_input: number;
  reasoning?: number;
}

/** The JSON form of a price table (file, topic, HTTP). */
export interface PriceTableJson {
  version: 1;
  as_of: string;
  source: string;
  models: Record<string, ModelPriceJson>;
}

/** Why a price table was refused: one line per problem, naming where. */
export class PriceTableProblem extends Error {
  override readonly name = "PriceTableProblem";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("; "));
    this.problems = problems;
  }
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.map(String).join(".")}: ${issue.message}`));
}

function toModelPrice(json: z.infer<typeof modelPriceJson>): ModelPrice {
  return {
    input: json.input,
    output: json.output,
    cachedInput: json.cached_input ?? json.input,
    reasoning: json.reasoning ?? undefined,
  };
}

/** Parses and validates a price table (JSON value); throws {@link PriceTableProblem}. */
export function parsePriceTable(json: unknown): PriceTable {
  const result = priceTableJson.safeParse(json);
  if (!result.success) throw new PriceTableProblem(problemsOf(result.error));
  const models = new Map<string, ModelPrice>();
  for (const [name, entry] of Object.entries(result.data.models)) models.set(name, toModelPrice(entry));
  return { asOf: result.data.as_of ?? "", source: result.data.source ?? "", models };
}

/** Parses the models of a partial update (`{"model": {...} | null}`): null removes a model. */
export function parsePriceUpdate(json: unknown): Map<string, ModelPrice | null> {
  const schema = z.strictObject({ models: modelsOf(modelPriceJson.nullable()) }, { error: "must be an object with models" });
  const result = schema.safeParse(json);
  if (!result.success) throw new PriceTableProblem(problemsOf(result.error));
  const update = new Map<string, ModelPrice | null>();
  for (const [name, entry] of Object.entries(result.data.models)) update.set(name, entry === null ? null : toModelPrice(entry));
  return update;
}

/** The JSON form of a table: models sorted by name. */
export function priceTableToJson(table: PriceTable): PriceTableJson {
  const models: Record<string, ModelPriceJson> = {};
  for (const name of [...table.models.keys()].sort()) {
    const entry = table.models.get(name)!;
    models[name] = {
      input: entry.input,
      output: entry.output,
      cached_input: entry.cachedInput,
      ...(entry.reasoning === undefined ? {} : { reasoning: entry.reasoning }),
    };
  }
  return { version: 1, as_of: table.asOf, source: table.source, models };
}

/** USD cost of a usage cell (see {@link CELL}) at `price`. */
export function cellCost(cell: Float64Array, price: ModelPrice): number {
  const reasoning = price.reasoning === undefined ? 0 : cell[CELL.reasoningTokens]! * price.reasoning;
  return (
    (cell[CELL.uncachedInput]! * price.input +
      cell[CELL.cachedTokens]! * price.cachedInput +
      cell[CELL.outputTokens]! * price.output +
      reasoning) /
    1_000_000
  );
}
