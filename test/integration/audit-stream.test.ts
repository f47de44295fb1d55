/**
 * The audit stream: every audit event leaves the database at least once, in order within its
 * lane, to a JSON-lines file or a signed webhook, followed by a signed checkpoint; a failed
 * delivery is delivered again, and replicas streaming at once never deliver an event twice.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { anchorAuditLog } from "../../src/audit/anchor-job.js";
import { type Checkpoint, checkpointSignatureValid, compareWithCheckpoint } from "../../src/audit/checkpoint.js";
import {
  type AuditSink,
  FileSink,
  type StreamedEvent,
  type StreamRecord,
  streamAuditEvents,
  WebhookSink,
} from "../../src/audit/stream.js";
import { verifyWebhookSignature } from "../../src/connectors/webhook-signature.js";
import { type AuditEntry, appendAudit, GENESIS_HASH } from "../../src/db/audit-append.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import {
  createTestDatabase,
  describeEachDatabase,
  describeOnPostgres,
  type TestDatabase,
} from "../support/databases.js";

const KEY = "checkpoint-key-0123456789abcdef0123456789";
const SECRET = "stream-secret-0123456789abcdef0123456789";
const T0 = new Date("2026-03-01T09:00:00.000Z");

/** `transactions` transactions of `each` events; each transaction takes a lane of its own choosing. */
async function appendSome(handle: Pick<DbHandle, "db">, tag: string, transactions: number, each = 3): Promise<void> {
  for (let t = 0; t < transactions; t++) {
    const entries: AuditEntry[] = Array.from({ length: each }, (_, i) => ({
      at: T0,
      event: "test.streamed",
      actor: `${tag}-${t}-${i}`,
      data: { t, i },
    }));
    await handle.db.transaction((tx) => appendAudit(tx, entries));
  }
}

/** Every event of the log, as stored. */
const storedIds = async (handle: Pick<DbHandle, "db">) => (await queryAudit(handle.db)).map((r) => r.id);

/** Within each lane: ids rising and each event naming the one before it (from genesis). */
function inLaneOrder(events: StreamedEvent[]): boolean {
  const last = new Map<number, { id: number; hash: string }>();
  for (const e of events) {
    const before = last.get(e.lane);
    if (before && (e.id <= before.id || e.prevHash !== before.hash)) return false;
    if (!before && e.prevHash !== GENESIS_HASH) return false;
    last.set(e.lane, { id: e.id, hash: e.hash });
  }
  return true;
}

/** A sink in memory that can be told to fail its next deliveries. */
class MemorySink implements AuditSink {
  readonly name = "memory:test";
  readonly records: StreamRecord[] = [];
  failNext = 0;
  calls = 0;
  async deliver(records: StreamRecord[]): Promise<void> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("sink unavailable");
    }
    this.records.push(...records);
  }
  events(): StreamedEvent[] {
    return this.records.filter((r): r is StreamedEvent => r.type === "event");
  }
}

describeEachDatabase("the audit stream", (driver) => {
  let handle: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    handle = await createTestDatabase(driver);
    dir = await mkdtemp(join(tmpdir(), "pim-stream-"));
  });
  afterEach(async () => {
    await handle.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const lines = async (file: string) =>
    (await readFile(file, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as StreamRecord);

  it("writes every event once to a JSON-lines file, in order per lane, and on the next run only what is new", async () => {
    await appendSome(handle, "a", 8);
    const file = join(dir, "audit.jsonl");
    const sink = new FileSink(file);
    expect(await streamAuditEvents(handle, sink, { batchSize: 5 })).toBe(24);
    let written = (await lines(file)) as StreamedEvent[];
    expect(written.map((e) => e.id).sort((a, b) => a - b)).toEqual(await storedIds(handle));
    expect(inLaneOrder(written)).toBe(true);
    expect(written.find((e) => e.actor === "a-0-1")).toMatchObject({
      type: "event",
      event: "test.streamed",
      at: T0.toISOString(),
      data: { t: 0, i: 1 },
    });

    expect(await streamAuditEvents(handle, sink, { batchSize: 5 })).toBe(0);
    await appendSome(handle, "b", 2);
    expect(await streamAuditEvents(handle, sink, { batchSize: 5 })).toBe(6);
    written = (await lines(file)) as StreamedEvent[];
    expect(written).toHaveLength(30);
    expect(new Set(written.map((e) => e.id)).size).toBe(30);
    expect(inLaneOrder(written)).toBe(true);
  });

  it("delivers again what a failed delivery did not take, never skipping an event", async () => {
    await appendSome(handle, "a", 6);
    // The first delivery refused outright: nothing moves.
    const partly = new MemorySink();
    partly.failNext = 1;
    await expect(streamAuditEvents(handle, partly, { batchSize: 4 })).rejects.toThrow("sink unavailable");
    expect(partly.events()).toHaveLength(0);
    // Two batches through, the third refused: the cursors stay where the sink left them.
    let n = 0;
    const deliver = partly.deliver.bind(partly);
    partly.deliver = async (records) => {
      if (++n === 3) throw new Error("sink unavailable");
      await deliver(records);
    };
    await expect(streamAuditEvents(handle, partly, { batchSize: 4 })).rejects.toThrow("sink unavailable");
    expect(partly.events()).toHaveLength(8);
    partly.deliver = deliver;
    expect(await streamAuditEvents(handle, partly, { batchSize: 4 })).toBe(10);
    expect(
      partly
        .events()
        .map((e) => e.id)
        .sort((a, b) => a - b),
    ).toEqual(await storedIds(handle));
    expect(inLaneOrder(partly.events())).toBe(true);
  });

  it("ends each delivery with a signed checkpoint of every lane head, which the log then matches", async () => {
    await appendSome(handle, "a", 5);
    const file = join(dir, "audit.jsonl");
    const outcome = await anchorAuditLog(handle, [new FileSink(file)], KEY, () => T0);
    expect(Object.values(outcome.delivered)).toEqual([15]);
    const written = await lines(file);
    const checkpoint = written.at(-1) as Checkpoint;
    expect(checkpoint).toMatchObject({ type: "checkpoint", at: T0.toISOString() });
    expect(checkpointSignatureValid(KEY, checkpoint)).toBe(true);
    // Every lane head is the last event of its lane the stream carried.
    const lastOfLane = new Map<number, StreamedEvent>();
    for (const e of written.filter((r): r is StreamedEvent => r.type === "event")) lastOfLane.set(e.lane, e);
    expect(checkpoint.lanes).toEqual(
      [...lastOfLane.values()].map((e) => ({ lane: e.lane, id: e.id, hash: e.hash })).sort((a, b) => a.lane - b.lane),
    );
    expect(await compareWithCheckpoint(handle.db, checkpoint)).toMatchObject({ ok: true });
  });

  it("POSTs the events to a webhook, signed, and retries after a refusal", async () => {
    await appendSome(handle, "a", 4);
    const received: StreamRecord[] = [];
    let refuse = 1;
    let badSignatures = 0;
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const signed = verifyWebhookSignature(
          SECRET,
          req.headers["x-pim-timestamp"] as string,
          body,
          req.headers["x-pim-signature"] as string,
        );
        if (!signed) badSignatures++;
        if (refuse > 0 || !signed) {
          refuse--;
          res.writeHead(503).end();
          return;
        }
        received.push(...(JSON.parse(body) as { records: StreamRecord[] }).records);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`;
      const sink = new WebhookSink(url, SECRET);
      await expect(anchorAuditLog(handle, [sink], KEY, () => T0)).rejects.toThrow("answered 503");
      expect(received).toEqual([]);
      await anchorAuditLog(handle, [sink], KEY, () => T0);
      const events = received.filter((r): r is StreamedEvent => r.type === "event");
      expect(events.map((e) => e.id).sort((a, b) => a - b)).toEqual(await storedIds(handle));
      expect(inLaneOrder(events)).toBe(true);
      expect(received.at(-1)).toMatchObject({ type: "checkpoint" });
      expect(badSignatures).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describeOnPostgres("the audit stream across replicas", () => {
  it("delivers each event once when two replicas stream at once while events are written", async () => {
    const handle = await createTestDatabase("postgres");
    const other = await openDatabase({ driver: "postgres", url: handle.url!, poolSize: 4 });
    try {
      const sink = new MemorySink();
      // Slow deliveries, so that the two replicas' runs overlap.
      const slow: AuditSink = {
        name: sink.name,
        deliver: async (records) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await sink.deliver(records);
        },
      };
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 10; i++) await appendSome(i % 2 === 0 ? handle : other, `w${i}`, 3);
        writing = false;
      })();
      const replica = async (h: DbHandle) => {
        while (writing) await streamAuditEvents(h, slow, { batchSize: 7 });
        await streamAuditEvents(h, slow, { batchSize: 7 });
      };
      await Promise.all([writer, replica(handle), replica(other)]);
      const ids = sink.events().map((e) => e.id);
      expect(ids).toHaveLength(new Set(ids).size);
      expect([...ids].sort((a, b) => a - b)).toEqual(await storedIds(handle));
      expect(inLaneOrder(sink.events())).toBe(true);
    } finally {
      await other.close();
      await handle.dispose();
    }
  });
});
