import { WireError } from "./errors";

/**
 * Avro "Parsing Canonical Form" (Avro specification, "Schema Resolution" → "Parsing Canonical Form
 * for Schemas"), computed from a parsed JSON schema by the spec's transformations:
 * PRIMITIVES (`{"type":"int"}` → `"int"`), FULLNAMES (names qualified with the applicable namespace,
 * the `namespace` attribute dropped), STRIP (only `type`, `name`, `fields`, `symbols`, `items`,
 * `values`, `size` are kept), ORDER (attributes in that order), STRINGS and INTEGERS (plain JSON
 * literals) and WHITESPACE (none outside strings). A named type that occurs again after its
 * definition is written as its full name only.
 */

const PRIMITIVES: ReadonlySet<string> = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAME_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface WalkState {
  /** Full names of the named types defined so far, in schema order. */
  readonly defined: Set<string>;
}

/**
 * The Parsing Canonical Form of a schema given as parsed JSON (what `JSON.parse` of an `.avsc`
 * file returns). Throws `WIRE_INVALID_SCHEMA` for JSON that is not an Avro schema.
 */
export function parsingCanonicalForm(schema: unknown): string {
  return canonical(schema, "", { defined: new Set() });
}

function canonical(schema: unknown, namespace: string, state: WalkState): string {
  if (typeof schema === "string") {
    return reference(schema, namespace, state);
  }
  if (Array.isArray(schema)) {
    return `[${schema.map((branch) => canonical(branch, namespace, state)).join(",")}]`;
  }
  if (!isObject(schema)) {
    throw invalid(`a schema must be a string, an array or an object, got ${JSON.stringify(schema) ?? typeof schema}`);
  }
  const type = schema.type;
  if (typeof type !== "string") {
    throw invalid(`the "type" attribute must be a string, got ${JSON.stringify(type) ?? typeof type}`);
  }
  switch (type) {
    case "record":
    case "error":
      return recordForm(schema, namespace, state);
    case "enum": {
      const { fullName } = define(schema, namespace, state);
      const symbols = schema.symbols;
      if (!Array.isArray(symbols) || !symbols.every((s): s is string => typeof s === "string" && NAME_PART.test(s))) {
        throw invalid(`enum ${fullName}: "symbols" must be an array of names`);
      }
      return `{"name":${JSON.stringify(fullName)},"type":"enum","symbols":[${symbols.map((s) => JSON.stringify(s)).join(",")}]}`;
    }
    case "fixed": {
      const { fullName } = define(schema, namespace, state);
      const size = schema.size;
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw invalid(`fixed ${fullName}: "size" must be a non-negative integer`);
      }
      return `{"name":${JSON.stringify(fullName)},"type":"fixed","size":${String(size)}}`;
    }
    case "array":
      return `{"type":"array","items":${canonical(required(schema, "items"), namespace, state)}}`;
    case "map":
      return `{"type":"map","values":${canonical(required(schema, "values"), namespace, state)}}`;
    default:
      // A primitive with attributes (e.g. a logical type) or `{"type": "SomeNamedType"}`.
      return reference(type, namespace, state);
  }
}

function recordForm(schema: Record<string, unknown>, namespace: string, state: WalkState): string {
  const { fullName, space } = define(schema, namespace, state);
  const fields = schema.fields;
  if (!Array.isArray(fields)) {
    throw invalid(`record ${fullName}: "fields" must be an array`);
  }
  const parts = fields.map((field: unknown) => {
    if (!isObject(field) || typeof field.name !== "string" || !NAME_PART.test(field.name)) {
      throw invalid(`record ${fullName}: every field needs a valid "name"`);
    }
    return `{"name":${JSON.stringify(field.name)},"type":${canonical(required(field, "type"), space, state)}}`;
  });
  return `{"name":${JSON.stringify(fullName)},"type":"record","fields":[${parts.join(",")}]}`;
}

/** Registers a named type; returns its full name and the namespace its nested types inherit. */
function define(schema: Record<string, unknown>, enclosing: string, state: WalkState): { fullName: string; space: string } {
  const name = schema.name;
  if (typeof name !== "string") {
    throw invalid(`a ${String(schema.type)} needs a "name"`);
  }
  let fullName: string;
  if (name.includes(".")) {
    fullName = name;
  } else {
    const ns = typeof schema.namespace === "string" ? schema.namespace : enclosing;
    fullName = ns === "" ? name : `${ns}.${name}`;
  }
  if (!fullName.split(".").every((part) => NAME_PART.test(part))) {
    throw invalid(`invalid name ${JSON.stringify(fullName)}`);
  }
  if (PRIMITIVES.has(fullName)) {
    throw invalid(`a named type may not be called ${fullName}`);
  }
  if (state.defined.has(fullName)) {
    throw invalid(`type ${fullName} is defined twice`);
  }
  state.defined.add(fullName);
  const dot = fullName.lastIndexOf(".");
  return { fullName, space: dot < 0 ? "" : fullName.slice(0, dot) };
}

/** A primitive name or a reference to an already defined named type. */
function reference(name: string, namespace: string, state: WalkState): string {
  if (PRIMITIVES.has(name)) {
    return JSON.stringify(name);
  }
  // A short name is looked up in the enclosing namespace first, then in the null namespace (as Java does).
  const qualified = !name.includes(".") && namespace !== "" ? `${namespace}.${name}` : name;
  if (state.defined.has(qualified)) {
    return JSON.stringify(qualified);
  }
  if (state.defined.has(name)) {
    return JSON.stringify(name);
  }
  throw invalid(`unknown type ${JSON.stringify(name)}`);
}

function required(schema: Record<string, unknown>, attribute: string): unknown {
  if (!(attribute in schema)) {
    throw invalid(`missing "${attribute}" in ${JSON.stringify(schema)}`);
  }
  return schema[attribute];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string): WireError {
  return new WireError("WIRE_INVALID_SCHEMA", `not an Avro schema: ${message}`);
}
