import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The web dashboard's files: services/aggregator/ui/ built once per process with esbuild (already
 * in the tree through tsx) into one HTML page, one JS and one CSS bundle (uPlot from npm bundled in:
 * nothing is fetched from anywhere else at run time), kept in memory with a gzip copy each.
 */

/** The UI sources. */
const UI_DIR = resolve(import.meta.dirname, "..", "..", "ui");

/** One file served. */
interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The built page. */
export interface DashboardAssets {
  readonly page: Asset;
  /** By URL path (`/assets/dashboard-<hash>.js`, `.css`): names carry their content hash. */
  readonly files: ReadonlyMap<string, Asset>;
}

function asset(body: Buffer, type: string): Asset {
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    type,
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

async function buildAssets(): Promise<DashboardAssets> {
  const result = await build({
    entryPoints: [resolve(UI_DIR, "src", "main.ts")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    write: false,
    outdir: "/assets",
    entryNames: "dashboard-[hash]",
    legalComments: "eof",
    logLevel: "silent",
  });
  const files = new Map<string, Asset>();
  let script = "";
  let style = "";
  for (const output of result.outputFiles) {
    const name = basename(output.path);
    const type = name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
    files.set(`/assets/${name}`, asset(Buffer.from(output.contents), type));
    if (name.endsWith(".css")) style = `/assets/${name}`;
    else script = `/assets/${name}`;
  }
  const html = readFileSync(resolve(UI_DIR, "index.html"), "utf8").replace("{{style}}", style).replace("{{script}}", script);
  return { page: asset(Buffer.from(html, "utf8"), "text/html; charset=utf-8"), files };
}

let built: Promise<DashboardAssets> | undefined;

/** The dashboard's files, built on first use (once per process). */
export function dashboardAssets(): Promise<DashboardAssets> {
  built ??= buildAssets();
  return built;
}

/** Bytes of the page, its script and its stylesheet: raw and gzipped. */
export function assetWeight(assets: DashboardAssets): { bytes: number; gzipBytes: number } {
  let bytes = assets.page.body.length;
  let gzipBytes = assets.page.gzip.length;
  for (const file of assets.files.values()) {
    bytes += file.body.length;
    gzipBytes += file.gzip.length;
  }
  return { bytes, gzipBytes };
}

/** What the page may load: only itself (no CDN, no inline script). */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function serve(request: FastifyRequest, reply: FastifyReply, file: Asset, cacheControl: string): FastifyReply {
  reply
    .header("Cache-Control", cacheControl)
    .header("ETag", file.etag)
    .header("X-Content-Type-Options", "nosniff")
    .header("Vary", "Accept-Encoding");
  if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
  const accepts = request.headers["accept-encoding"];
  const gzip = typeof accepts === "string" && /\bgzip\b/.test(accepts);
  if (gzip) reply.header("Content-Encoding", "gzip");
  return reply.type(file.type).send(gzip ? file.gzip : file.body);
}

/**
 * `GET /`: the page (no key needed to load it; it asks for the key and sends it with each API call),
 * revalidated on every load; `GET /assets/*`: the bundles, cached for a year (their names change
 * with their content).
 */
export function registerDashboardAssets(app: FastifyInstance, assets: DashboardAssets): void {
  app.get("/", async (request, reply) => {
    reply.header("Content-Security-Policy", CONTENT_SECURITY_POLICY).header("Referrer-Policy", "no-referrer");
    return serve(request, reply, assets.page, "no-cache");
  });
  for (const [path, file] of assets.files) {
    app.get(path, async (request, reply) => serve(request, reply, file, "public, max-age=31536000, immutable"));
  }
}
