/**
 * The second process of bench/slack.ts: fires signed `/elevate` posts at a fixed rate at one URL
 * and reports the latency of each, counted from when it was due (so a stalled server cannot hide
 * its queue), then prints a JSON summary on stdout. Open loop: sends never wait for answers.
 */
import { createHmac } from "node:crypto";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

interface Job {
  url: string;
  secret: string;
  rate: number;
  seconds: number;
  /** Cycled through, one per request: "help", "status"… */
  texts: string[];
  /** Slack user ids cycled through. */
  users: string[];
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(job.url);

function post(body: string): Promise<number> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac("sha256", job.secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          "x-slack-request-timestamp": String(timestamp),
          "x-slack-signature": signature,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// Slack's side of response_url: the replies pim-bot posts after its ack land here, in this process.
let replies = 0;
const sink = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    replies++;
    res.end("ok");
  });
});
await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", () => resolve()));
const responseUrlBase = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/response/`;

const total = Math.round(job.rate * job.seconds);
const latencies: number[] = [];
const statuses = new Map<number, number>();
let errors = 0;
const start = performance.now() + 200;
const pending: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / job.rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const user = job.users[i % job.users.length]!;
  const body = new URLSearchParams({
    command: "/elevate",
    text: job.texts[i % job.texts.length]!,
    user_id: user,
    user_name: user.toLowerCase(),
    team_id: "T0PIM",
    team_domain: "pim-bench",
    channel_id: `D${user.slice(1)}`,
    channel_name: "directmessage",
    api_app_id: "A0PIM",
    response_url: `${responseUrlBase}${i}`,
    trigger_id: `bench.${i}`,
  }).toString();
  pending.push(
    post(body).then(
      (status) => {
        latencies.push(performance.now() - due);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      },
      () => {
        errors++;
      },
    ),
  );
}
await Promise.all(pending);
// Replies come after the acks; give the last ones a moment before counting.
await new Promise((r) => setTimeout(r, 1_000));
agent.destroy();
sink.close();
process.stdout.write(
  `${JSON.stringify({ latencies, statuses: Object.fromEntries(statuses), errors, sent: total, replies })}\n`,
);
