import fc from "fast-check";
import type { DriverName } from "../support/databases.js";
import { heal, type Step, stepArbitraries } from "./commands.js";
import { newModel } from "./model.js";
import { openWorld, type World } from "./world.js";

export interface Exploration {
  sequences: number;
  steps: number;
  ms: number;
  /** How many activations ended each way, over every sequence: what the exploration reached. */
  outcomes: Record<string, number>;
}

/** Runs one sequence of steps on a world just reset, then heals it and checks the end state. */
export async function runSequence(world: World, steps: Iterable<Step>, counter?: Exploration): Promise<void> {
  await world.reset();
  const model = newModel(world.clock.now().getTime(), world.engines.length);
  let ran = 0;
  await fc.asyncModelRun(
    () => ({ model, real: world }),
    [...steps].map((s) => countRuns(s, () => ran++)),
  );
  ran += await heal(model, world);
  if (counter) {
    counter.sequences++;
    counter.steps += ran;
    for (const a of model.acts) {
      const outcome = a.phase === "ended" ? `ended:${a.reason}` : a.phase;
      counter.outcomes[outcome] = (counter.outcomes[outcome] ?? 0) + 1;
    }
  }
}

/** Opens a world for `fn` and closes it afterwards. */
export async function withWorld<T>(driver: DriverName, fn: (world: World) => Promise<T>): Promise<T> {
  const world = await openWorld(driver);
  try {
    return await fn(world);
  } finally {
    await world.dispose();
  }
}

function countRuns(step: Step, onRun: () => void): Step {
  return {
    check: (m) => step.check(m),
    run: async (m, w) => {
      onRun();
      await step.run(m, w);
    },
    toString: () => String(step),
  };
}

/** A seeded exploration: `runs` random sequences of up to `maxSteps` steps each. */
export async function explore(
  driver: DriverName,
  options: { seed: number; runs: number; maxSteps: number },
): Promise<Exploration> {
  const counter: Exploration = { sequences: 0, steps: 0, ms: 0, outcomes: {} };
  const started = Date.now();
  await withWorld(driver, (world) =>
    fc.assert(
      fc.asyncProperty(fc.commands(stepArbitraries(), { maxCommands: options.maxSteps, size: "max" }), (cmds) =>
        runSequence(world, cmds, counter),
      ),
      { seed: options.seed, numRuns: options.runs, verbose: 1 },
    ),
  );
  counter.ms = Date.now() - started;
  return counter;
}
