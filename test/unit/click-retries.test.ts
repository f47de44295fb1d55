import pino from "pino";
import { describe, expect, it } from "vitest";
import { DEFAULT_RECORDING, type RecordingPolicy, tryRecording } from "../../src/chat/flows/recording.js";
import { isTransientError } from "../../src/db/client.js";

const failure = (code: string) => Object.assign(new Error(code), { code });
const quiet = pino({ level: "silent" });

/** A policy whose pauses pass at once on its own clock, and are written down. */
function instantPauses(budget: Partial<RecordingPolicy> = {}) {
  let now = 0;
  const pauses: number[] = [];
  const policy: RecordingPolicy = {
    ...DEFAULT_RECORDING,
    firstDelayMs: 200,
    maxDelayMs: 1_000,
    ...budget,
    now: () => now,
    wait: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
  };
  return { policy, pauses };
}

describe("which database failures a click may be tried again after", () => {
  it.each([
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECT_TIMEOUT",
    "ECONNREFUSED",
    "ECONNRESET",
    "08006",
    "57P01",
    "57P02",
    "57P03",
    "40001",
    "40P01",
  ])("%s is transient", (code) => {
    expect(isTransientError(failure(code))).toBe(true);
    // drizzle wraps the driver's error in its own
    expect(isTransientError(new Error("Failed query", { cause: failure(code) }))).toBe(true);
  });

  it.each(["23505", "42P01", "22P02", "XX000"])("%s is not", (code) => {
    expect(isTransientError(failure(code))).toBe(false);
  });

  it("a plain error is not", () => {
    expect(isTransientError(new Error("boom"))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });
});

describe("trying a click again", () => {
  it("tries again after transient failures, with pauses that double up to the cap", async () => {
    const { policy, pauses } = instantPauses();
    let attempts = 0;
    const recorded = await tryRecording(policy, quiet, 60_000, async () => {
      if (++attempts < 5) throw failure("57P01");
      return "approved";
    });
    expect(recorded).toEqual({ ok: true, value: "approved" });
    expect(pauses).toEqual([200, 400, 800, 1_000]);
  });

  it("gives up once the budget is spent, after a last attempt at its end", async () => {
    const { policy, pauses } = instantPauses();
    let attempts = 0;
    const recorded = await tryRecording(policy, quiet, 2_000, async () => {
      attempts++;
      throw failure("CONNECTION_CLOSED");
    });
    expect(recorded).toMatchObject({ ok: false, attempts: 5 });
    expect(attempts).toBe(5);
    expect(pauses).toEqual([200, 400, 800, 600]);
  });

  it("does not try again after a failure that is not the database's", async () => {
    const { policy, pauses } = instantPauses();
    await expect(
      tryRecording(policy, quiet, 60_000, async () => {
        throw failure("23505");
      }),
    ).rejects.toThrow("23505");
    expect(pauses).toEqual([]);
  });
});
