import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { bearerCheck } from "./bearer.js";
import { type HttpServer, sendJson, sendText } from "./server.js";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** A load balancer waits for /readyz; past this, a check counts as failed. */
export const READINESS_TIMEOUT_MS = 800;

/** Who may read /metrics: holders of the token, or anyone when explicitly opened. */
export type MetricsAccess = { token: string | undefined } | { open: true };

/**
 * /healthz: the process answers. /readyz: its dependencies answer, within a second whatever
 * they do; a failure says only which check failed and how (the detail, which may name hosts and
 * users, goes to the log). /metrics: Prometheus, closed (401) unless a token is configured or it
 * was explicitly opened.
 */
export function mountOps(
  http: HttpServer,
  registry: Registry,
  checks: ReadinessCheck[],
  metrics: MetricsAccess,
  log?: Logger,
): void {
  http.route("GET", "/healthz", (_req, res) => sendJson(res, 200, { status: "ok" }));
  http.route("GET", "/readyz", async (_req, res) => {
    const results = await Promise.all(checks.map((c) => runCheck(c, READINESS_TIMEOUT_MS, log)));
    sendJson(res, results.every((r) => r.ok) ? 200 : 503, { checks: results });
  });
  const authorized = "open" in metrics ? () => true : metrics.token ? bearerCheck(metrics.token) : () => false;
  http.route("GET", "/metrics", async (req, res) => {
    if (!authorized(req.headers.authorization)) return sendText(res, 401, "Unauthorized");
    sendText(res, 200, await registry.metrics(), registry.contentType);
  });
}

type CheckResult = { name: string; ok: true } | { name: string; ok: false; error: "timeout" | "failed" };

async function runCheck(c: ReadinessCheck, timeoutMs: number, log?: Logger): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const running = c.check().then(
    () => "ok" as const,
    (error: unknown) => error,
  );
  try {
    const outcome = await Promise.race([running, timedOut]);
    if (outcome === "ok") return { name: c.name, ok: true };
    if (outcome === "timeout") {
      log?.warn({ check: c.name, timeoutMs }, "readiness check did not answer in time");
      // Whatever it ends with later is only logged.
      void running.then((late) => late !== "ok" && log?.debug({ check: c.name, err: late }, "late readiness failure"));
      return { name: c.name, ok: false, error: "timeout" };
    }
    log?.warn({ check: c.name, err: outcome }, "readiness check failed");
    return { name: c.name, ok: false, error: "failed" };
  } finally {
    clearTimeout(timer);
  }
}
