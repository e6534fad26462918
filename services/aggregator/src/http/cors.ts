import type { FastifyInstance } from "fastify";

/**
 * CLIProxyAPI's CORS behaviour, on every route: any origin, the methods GET, POST, PUT, PATCH,
 * DELETE and OPTIONS, any request header, and the version headers exposed to scripts (current
 * CLIProxyAPI releases send `Access-Control-Expose-Headers`; the Management Center reads
 * `X-CPA-VERSION` and `X-CPA-BUILD-DATE` from there). A preflight `OPTIONS` is answered 204 before
 * routing and authentication, as CLIProxyAPI's middleware aborts it. The management key travels in
 * a header (never a cookie), so no credentials are allowed and `*` is the origin.
 *
 * The Fetch standard does not let the wildcard `Access-Control-Allow-Headers: *` cover
 * `Authorization` (Firefox and Safari hold to it; Chromium only warns), so a preflight gets back the
 * very headers it asks for: any header, `Authorization` included, in every browser.
 */
const CORS_HEADERS = {
  allowOrigin: "*",
  allowMethods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  exposeHeaders: "X-CPA-VERSION, X-CPA-COMMIT, X-CPA-BUILD-DATE",
} as const;

/** Adds the CORS headers to every response and answers every `OPTIONS` 204. */
export function registerCors(app: FastifyInstance): void {
  app.addHook("onRequest", async (request, reply) => {
    reply.header("Access-Control-Allow-Origin", CORS_HEADERS.allowOrigin);
    reply.header("Access-Control-Allow-Methods", CORS_HEADERS.allowMethods);
    const asked = request.headers["access-control-request-headers"];
    reply.header("Access-Control-Allow-Headers", typeof asked === "string" && asked.trim() !== "" ? asked : "*");
    reply.header("Access-Control-Expose-Headers", CORS_HEADERS.exposeHeaders);
    if (request.method === "OPTIONS") {
      reply.header("Access-Control-Max-Age", "600");
      reply.header("Vary", "Access-Control-Request-Headers");
      return reply.code(204).send();
    }
    return undefined;
  });
}
