/*
 * The parts of Go's encoding/json output that differ from JSON.stringify: HTML-safe string escaping
 * and map keys sorted by their UTF-8 bytes.
 */

const HEX = "0123456789abcdef";

/** Characters Go's encoder escapes (with `SetEscapeHTML(true)`, the default) or must replace. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

function unicodeEscape(code: number): string {
  return `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
}

/**
 * A JSON string literal exactly as Go's `json.Marshal` writes it: `"` and `\` escaped; `\b \f \n \r
 * \t` short escapes (Go 1.22 and later); other control characters, `<`, `>`, `&`, U+2028 and U+2029 as
 * `\u00XX`-style escapes with lower-case hex; a lone UTF-16 surrogate (which Go's strings, being
 * UTF-8, cannot hold) as `\ufffd`; everything else raw.
 */
export function goJsonString(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let replacement: string | undefined;
    if (code < 0x20) {
      switch (code) {
        case 0x08:
          replacement = "\\b";
          break;
        case 0x0c:
          replacement = "\\f";
          break;
        case 0x0a:
          replacement = "\\n";
          break;
        case 0x0d:
          replacement = "\\r";
          break;
        case 0x09:
          replacement = "\\t";
          break;
        default:
          replacement = unicodeEscape(code);
      }
    } else if (code === 0x22) {
      replacement = '\\"';
    } else if (code === 0x5c) {
      replacement = "\\\\";
    } else if (code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029) {
      replacement = unicodeEscape(code);
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      replacement = "\\ufffd";
    }
    if (replacement !== undefined) {
      out += value.slice(start, i) + replacement;
      start = i + 1;
    }
  }
  return `${out}${value.slice(start)}"`;
}

/**
 * Orders two strings as Go orders map keys when encoding: by UTF-8 bytes, which is Unicode code
 * point order (JS's `<` compares UTF-16 code units, which differs for characters above U+FFFF).
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..U+DFFF, i.e. code points above U+FFFF) sort after U+E000..U+FFFF in UTF-8.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Sets `record[key] = value` as an own enumerable property, also for `__proto__` (which a plain
 * assignment would take as the prototype).
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

/** Replaces lone UTF-16 surrogates with U+FFFD, as Go's JSON decoder does for `\ud800`-style escapes. */
export function toWellFormed(value: string): string {
  if (!/[\ud800-\udfff]/.test(value)) return value;
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Go's `unicode.IsSpace`. */
function isGoSpace(code: number): boolean {
  if (code <= 0xff) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0;
  return (
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/**
 * Go's `strings.TrimSpace` (Unicode white space as Go defines it: unlike JS `trim`, it trims U+0085
 * and keeps U+FEFF).
 */
export function goTrimSpace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isGoSpace(value.charCodeAt(start))) start++;
  while (end > start && isGoSpace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * The case-folded form Go's JSON decoder compares struct field names with when no field matches
 * exactly (Unicode simple case folding, as `bytes.EqualFold`). Only ASCII field names are ever
 * matched here, so besides ASCII letters only the runes whose fold orbit holds an ASCII letter
 * matter: the Kelvin sign (k) and long s (s). Dotless i and dotted capital I do not fold to i.
 */
export function goFoldName(name: string): string {
  return name
    .replace(/[a-z]/g, (c) => c.toUpperCase())
    .replace(/\u212a/g, "K")
    .replace(/\u017f/g, "S");
}
