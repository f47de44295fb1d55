import type { Registry } from "prom-client";
import { bearerCheck } from "./bearer.js";
import { type HttpServer, sendJson, sendText } from "./server.js";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Who may read /metrics: holders of the token, or anyone when explicitly opened. */
export type MetricsAccess = { token: string | undefined } | { open: true };

/**
 * /healthz: the process answers. /readyz: its dependencies answer. /metrics: Prometheus, closed
 * (401) unless a token is configured or it was explicitly opened.
 */
export function mountOps(http: HttpServer, registry: Registry, checks: ReadinessCheck[], metrics: MetricsAccess): void {
  http.route("GET", "/healthz", (_req, res) => sendJson(res, 200, { status: "ok" }));
  http.route("GET", "/readyz", async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await c.check();
          return { name: c.name, ok: true };
        } catch (error) {
          return { name: c.name, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    sendJson(res, results.every((r) => r.ok) ? 200 : 503, { checks: results });
  });
  const authorized = "open" in metrics ? () => true : metrics.token ? bearerCheck(metrics.token) : () => false;
  http.route("GET", "/metrics", async (req, res) => {
    if (!authorized(req.headers.authorization)) return sendText(res, 401, "Unauthorized");
    sendText(res, 200, await registry.metrics(), registry.contentType);
  });
}
