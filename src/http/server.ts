import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { withRequestId } from "../app/kernel/request-trace.js";

export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown | Promise<unknown>;

/** Told of every request once its answer has been sent (for metrics). */
export type AnswerObserver = (answer: { path: string; status: number; seconds: number }) => void;

interface Route {
  method: string;
  /** An exact path, or a prefix when it ends with "/*". */
  path: string;
  handler: Handler;
}

/**
 * The one HTTP server: Slack, Teams, MFA pages and the ops endpoints all mount routes here.
 * Unexpected errors are caught once, logged with the request id, and answered with a bare 500.
 */
export class HttpServer {
  private readonly routes: Route[] = [];
  readonly server: Server;
  /** Requests being handled now. */
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;

  constructor(
    private readonly log: Logger,
    private readonly observe?: AnswerObserver,
  ) {
    this.server = createServer((req, res) => {
      const handled = this.dispatch(req, res);
      this.inFlight.add(handled);
      void handled.finally(() => this.inFlight.delete(handled));
    });
    this.server.keepAliveTimeout = 65_000;
  }

  route(method: string, path: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), path, handler });
    return this;
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    return typeof address === "object" && address ? address.port : port;
  }

  /**
   * The start of a graceful stop: no new connections are taken, and a request that still arrives
   * on an open one is answered 503 with `Connection: close` (so /readyz fails and load balancers
   * move on); requests already being handled go on. Resolves when they have all been answered.
   */
  async stopAccepting(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      if (this.server.listening) this.server.close();
      this.server.closeIdleConnections();
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
      this.server.closeAllConnections();
    });
  }

  private match(method: string, path: string): Route | "method" | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const hit = route.path.endsWith("/*") ? path.startsWith(route.path.slice(0, -1)) : path === route.path;
      if (!hit) continue;
      pathMatched = true;
      if (route.method === method || (route.method === "GET" && method === "HEAD")) return route;
    }
    return pathMatched ? "method" : undefined;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    // Handlers read it from the request, so their log lines and messages name the same id.
    req.headers["x-request-id"] = requestId;
    res.setHeader("x-request-id", requestId);
    const path = new URL(req.url ?? "/", "http://local").pathname;
    const observe = this.observe;
    if (observe) {
      const started = performance.now();
      res.once("finish", () =>
        observe({ path, status: res.statusCode, seconds: (performance.now() - started) / 1000 }),
      );
    }
    if (this.draining) {
      res.setHeader("connection", "close");
      return sendText(res, 503, "Shutting down");
    }
    const route = this.match(req.method ?? "GET", path);
    if (route === undefined) return sendText(res, 404, "Not found");
    if (route === "method") return sendText(res, 405, "Method not allowed");
    try {
      await withRequestId(requestId, () => route.handler(req, res));
    } catch (error) {
      this.log.error({ err: error, requestId, path }, "request failed");
      if (!res.headersSent) sendText(res, 500, "Internal error");
      else res.end();
    }
  }
}

/** A proxy's id for the request when it looks like one; else a short new one people can read out. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && /^[\w.:-]{1,64}$/.test(given)) return given;
  return randomBytes(6).toString("hex");
}

/** The id the server gave the request (see dispatch); a new one for work that came some other way. */
export function requestIdFor(req: Pick<IncomingMessage, "headers"> | undefined): string {
  const id = req?.headers["x-request-id"];
  return typeof id === "string" && id !== "" ? id : randomBytes(6).toString("hex");
}

export function sendText(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), "application/json; charset=utf-8");
}

/** Reads a request body with a size limit, so a huge post cannot exhaust memory. */
export async function readBody(req: IncomingMessage, limitBytes = 1_000_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw Object.assign(new Error("request body too large"), { code: "BODY_TOO_LARGE" });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
