import { goJsonString } from "./go-text";
import { utf8 } from "./json-bytes";

/**
 * Interned strings (API names, models, sources, auth indexes): each distinct string is kept once
 * and named by a small integer id, stable for the life of the store (until `clear`).
 */
export class StringTable {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly pipes: boolean[] = [];
  private readonly json: (string | undefined)[] = [];
  private readonly jsonBytes: (Uint8Array | undefined)[] = [];

  /** The id of `value`, adding it when new. */
  intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
      this.pipes.push(value.includes("|"));
      this.json.push(undefined);
      this.jsonBytes.push(undefined);
    }
    return id;
  }

  /** The string of `id`. */
  get(id: number): string {
    return this.values[id]!;
  }

  /** Number of strings. */
  get size(): number {
    return this.values.length;
  }

  /** True when the string contains `|`, the seed's dedup key separator. */
  hasPipe(id: number): boolean {
    return this.pipes[id]!;
  }

  /** The string as a Go JSON literal (cached). */
  jsonOf(id: number): string {
    let text = this.json[id];
    if (text === undefined) {
      text = goJsonString(this.values[id]!);
      this.json[id] = text;
    }
    return text;
  }

  /** The string as a Go JSON literal in UTF-8 bytes (cached). */
  jsonBytesOf(id: number): Uint8Array {
    let bytes = this.jsonBytes[id];
    if (bytes === undefined) {
      bytes = utf8(this.jsonOf(id));
      this.jsonBytes[id] = bytes;
    }
    return bytes;
  }
}
