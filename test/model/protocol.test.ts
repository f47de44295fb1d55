import { expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { explore } from "./run.js";

/**
 * The activation protocol against its model: random sequences of requests, MFA, decisions,
 * cancels, ends, extensions and revokes, with the clock, replica crashes and target outages in
 * between, on three replicas sharing one database. A fixed seed keeps the run the same every
 * time; `npm run check:model` explores far more with a fresh seed.
 */
const SEED =
  process.env.MODEL_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.MODEL_SEED ?? 20261102);
const RUNS = Number(process.env.MODEL_RUNS ?? 10);
const MAX_STEPS = Number(process.env.MODEL_STEPS ?? 30);

describeEachDatabase("activation protocol, model-based", (driver) => {
  it(`${RUNS} seeded sequences of up to ${MAX_STEPS} steps keep every invariant`, {
    timeout: Math.max(60_000, RUNS * MAX_STEPS * 200),
  }, async () => {
    const explored = await explore(driver, { seed: SEED, runs: RUNS, maxSteps: MAX_STEPS });
    console.log(
      `[model ${driver}] seed ${SEED}: ${explored.sequences} sequences, ${explored.steps} steps in ${explored.ms} ms;` +
        ` activations by outcome ${JSON.stringify(explored.outcomes)}`,
    );
    expect(explored.sequences).toBe(RUNS);
  });
});
