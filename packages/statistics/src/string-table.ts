import { goJsonString } from "./go-text";

/**
 * Interned strings (API names, models, sources, auth indexes): each distinct string is kept once
 * and named by a small integer id, stable for the life of the store (until `clear`).
 */
export class StringTable {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly pipes: boolean[] = [];
  private readonly json: (string | undefined)[] = [];

  /** The id of `value`, adding it when new. */
  intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
      this.pipes.push(value.includes("|"));
      this.json.push(undefined);
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
}
