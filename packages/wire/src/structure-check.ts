import type { Type, types } from "avsc";
import { WireError } from "./errors";

/**
 * A bounds-checked walk over the Avro binary encoding of one schema, run before avsc decodes a body
 * whose schema holds arrays or maps. avsc trusts block counts (a count of 2^31 makes it loop 2^31
 * times past the end of the buffer); this walk rejects any count larger than the bytes left, so a
 * corrupt or hostile body costs time in proportion to its length and never hangs the consumer.
 *
 * A check returns the position after the value; a position beyond the end means "truncated".
 * It throws `WIRE_MALFORMED_BODY` for encodings no writer produces (negative lengths, union or enum
 * index out of range, varints over 10 bytes) and `WIRE_TRUNCATED` for a block count beyond the bytes
 * left (an array of zero-byte items, e.g. of nulls, longer than the rest of the body is rejected too).
 */
export type StructureCheck = (bytes: Uint8Array, pos: number) => number;

/** The value of the last varint {@link readVarint} read (a module cell keeps the walk allocation-free). */
let varint = 0;

function readVarint(bytes: Uint8Array, start: number): number {
  let pos = start;
  let value = 0;
  let scale = 1;
  let byte: number;
  do {
    if (pos - start === 10) {
      throw malformed(`varint longer than 10 bytes at ${String(start)}`);
    }
    byte = pos < bytes.length ? (bytes[pos] ?? 0) : 0;
    pos++;
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  // Zigzag decoding in float arithmetic: exact for every value a JS number holds exactly.
  varint = value % 2 === 1 ? -(value + 1) / 2 : value / 2;
  return pos;
}

/**
 * The structure check of a type, or `undefined` when the type has no array or map anywhere (avsc's
 * own reads are then bounded by the body's length and no check is needed).
 */
export function createStructureCheck(type: Type): StructureCheck | undefined {
  return hasBlocks(type, new Set()) ? compile(type, new Map()) : undefined;
}

function hasBlocks(type: Type, seen: Set<Type>): boolean {
  if (seen.has(type)) {
    return false;
  }
  seen.add(type);
  const name = baseName(type);
  if (name === "array" || name === "map") {
    return true;
  }
  return children(type).some((child) => hasBlocks(child, seen));
}

function children(type: Type): Type[] {
  const name = baseName(type);
  if (name === "record" || name === "error") {
    return (type as types.RecordType).fields.map((field) => field.type);
  }
  if (name === "union") {
    return (type as types.UnwrappedUnionType).types;
  }
  if (name === "logical") {
    return [(type as types.LogicalType).underlyingType];
  }
  return [];
}

/** avsc's type name without its qualifier (`union:wrapped` → `union`, `logical:x` → `logical`). */
function baseName(type: Type): string {
  const name = type.typeName;
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(0, colon);
}

function compile(type: Type, compiled: Map<Type, StructureCheck>): StructureCheck {
  const known = compiled.get(type);
  if (known !== undefined) {
    return known;
  }
  // Recursive schemas: register an indirection before compiling the children.
  let target: StructureCheck = () => 0;
  compiled.set(type, (bytes, pos) => target(bytes, pos));
  target = build(type, compiled);
  compiled.set(type, target);
  return target;
}

function build(type: Type, compiled: Map<Type, StructureCheck>): StructureCheck {
  const name = baseName(type);
  switch (name) {
    case "null":
      return (_bytes, pos) => pos;
    case "boolean":
      return (_bytes, pos) => pos + 1;
    case "int":
    case "long":
      return readVarint;
    case "float":
      return (_bytes, pos) => pos + 4;
    case "double":
      return (_bytes, pos) => pos + 8;
    case "bytes":
    case "string":
      return checkLengthPrefixed;
    case "fixed": {
      const size = (type as types.FixedType).size;
      return (_bytes, pos) => pos + size;
    }
    case "enum": {
      const count = (type as types.EnumType).symbols.length;
      return (bytes, pos) => {
        const next = readVarint(bytes, pos);
        if (next <= bytes.length && (varint < 0 || varint >= count)) {
          throw malformed(`enum index ${String(varint)} out of range at ${String(pos)}`);
        }
        return next;
      };
    }
    case "union": {
      const branches = (type as types.UnwrappedUnionType).types.map((branch) => compile(branch, compiled));
      return (bytes, pos) => {
        const next = readVarint(bytes, pos);
        if (next > bytes.length) {
          return next;
        }
        const branch = branches[varint];
        if (branch === undefined) {
          throw malformed(`union index ${String(varint)} out of range at ${String(pos)}`);
        }
        return branch(bytes, next);
      };
    }
    case "record":
    case "error": {
      const fields = (type as types.RecordType).fields.map((field) => compile(field.type, compiled));
      return (bytes, start) => {
        let pos = start;
        for (const field of fields) {
          pos = field(bytes, pos);
          if (pos > bytes.length) {
            return pos;
          }
        }
        return pos;
      };
    }
    case "array":
      return blocks([compile((type as types.ArrayType).itemsType, compiled)]);
    case "map":
      return blocks([checkLengthPrefixed, compile((type as types.MapType).valuesType as Type, compiled)]);
    case "logical":
      return compile((type as types.LogicalType).underlyingType, compiled);
    default:
      throw new WireError("WIRE_INVALID_SCHEMA", `no structure check for avsc type ${type.typeName}`);
  }
}

/** Bytes, strings and map keys: a length, then that many bytes. */
function checkLengthPrefixed(bytes: Uint8Array, pos: number): number {
  const next = readVarint(bytes, pos);
  if (varint < 0) {
    throw malformed(`negative length ${String(varint)} at ${String(pos)}`);
  }
  return next + varint;
}

/** Array and map blocks: `count items...`, or `-count byteSize items...`, ending with count 0. */
function blocks(parts: readonly StructureCheck[]): StructureCheck {
  return (bytes, start) => {
    let pos = start;
    for (;;) {
      const blockStart = pos;
      pos = readVarint(bytes, pos);
      if (pos > bytes.length) {
        return pos;
      }
      let count = varint;
      if (count === 0) {
        return pos;
      }
      if (count < 0) {
        count = -count;
        pos = readVarint(bytes, pos);
        if (varint < 0) {
          throw malformed(`negative block size at ${String(blockStart)}`);
        }
      }
      if (count > bytes.length - pos) {
        // Every item of our schemas takes at least one byte: the body is shorter than it claims.
        throw new WireError(
          "WIRE_TRUNCATED",
          `block of ${String(count)} items at ${String(blockStart)} but only ${String(bytes.length - pos)} bytes left`,
        );
      }
      for (let i = 0; i < count; i++) {
        for (const part of parts) {
          pos = part(bytes, pos);
          if (pos > bytes.length) {
            return pos;
          }
        }
      }
    }
  };
}

function malformed(message: string): WireError {
  return new WireError("WIRE_MALFORMED_BODY", message);
}
