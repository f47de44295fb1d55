import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { type MetricsAccess, mountOps } from "../../src/http/ops.js";
import { HttpServer } from "../../src/http/server.js";

const TOKEN = "m".repeat(40);
const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function metricsStatus(access: MetricsAccess, authorization?: string): Promise<number> {
  const http = new HttpServer(pino({ level: "silent" }));
  servers.push(http);
  mountOps(http, new Registry(), [], access);
  const port = await http.listen(0, "127.0.0.1");
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: authorization ? { authorization } : {},
  });
  await res.text();
  return res.status;
}

it("keeps /metrics closed when no token is configured and it was not explicitly opened", async () => {
  expect(await metricsStatus({ token: undefined })).toBe(401);
  expect(await metricsStatus({ token: undefined }, "Bearer anything")).toBe(401);
});

it("serves /metrics to the token's holder only, or to anyone once explicitly opened", async () => {
  expect(await metricsStatus({ token: TOKEN }, `Bearer ${TOKEN}`)).toBe(200);
  expect(await metricsStatus({ token: TOKEN }, "Bearer wrong")).toBe(401);
  expect(await metricsStatus({ open: true })).toBe(200);
});
