/** The management key, kept for this tab only (sessionStorage: gone when the tab closes). */
const KEY_STORAGE = "usage-ledger.management-key";

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
}

export function storeKey(key: string | undefined): void {
  if (key === undefined) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** The API answered 401 or 403: the key is missing, wrong, or this client is banned. */
export class Refused extends Error {
  override readonly name = "Refused";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A request failed (the message is the API's `error`, or the network's). */
class RequestFailed extends Error {
  override readonly name = "RequestFailed";
}

/** Calls the management API with the key in `Authorization: Bearer`. */
export class Api {
  private readonly key: string;

  constructor(key: string) {
    this.key = key;
  }

  private async call(method: string, path: string, body?: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        ...(body === undefined ? {} : { body }),
        cache: "no-store",
      });
    } catch (error) {
      throw new RequestFailed(`the ledger did not answer (${error instanceof Error ? error.message : String(error)})`);
    }
    if (response.ok) return response;
    let message = `${response.status} ${response.statusText}`;
    try {
      const json = (await response.json()) as { error?: unknown };
      if (typeof json.error === "string") message = json.error;
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401 || response.status === 403) throw new Refused(response.status, message);
    throw new RequestFailed(message);
  }

  /** GET a JSON body; `params` become the query string (undefined ones left out). */
  async get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    return (await (await this.call("GET", withQuery(path, params))).json()) as T;
  }

  /** GET as text (a CSV or JSON file to save). */
  async text(path: string, params: Record<string, string | number | undefined> = {}): Promise<string> {
    return (await this.call("GET", withQuery(path, params))).text();
  }

  /** Sends a JSON body (or raw text) and reads the JSON answer. */
  async send<T>(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return (await (await this.call(method, path, text)).json()) as T;
  }
}

function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") query.set(name, String(value));
  const text = query.toString();
  return text === "" ? path : `${path}?${text}`;
}
