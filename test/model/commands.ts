import fc from "fast-check";
import { decide as decideRequest } from "../../src/app/activation/decide.js";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { requestExtension } from "../../src/app/activation/extend.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { satisfyMfa } from "../../src/app/activation/satisfy-mfa.js";
import { revokeActivationAsAdmin } from "../../src/app/admin/revoke-activation.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { checkInvariants, pendingJobs, syncWithModel, Violation } from "./checks.js";
import {
  acceptRequest,
  applyCancel,
  applyDecision,
  applyEnd,
  applyMfa,
  applySweep,
  isOpen,
  type Model,
  type ModelActivation,
  type Outcome,
  predictExtend,
  predictRequest,
  setTarget,
} from "./model.js";
import type { RoleKey, TargetMode, UserKey, World } from "./world.js";

/**
 * The steps of a run. Each acts on the real system through one replica, predicts the answer
 * with the model, compares, then checks every invariant. `toString` prints a step as the call that
 * builds it, so a shrunk counter-example can be pasted into regressions.test.ts as it is.
 */
export type Step = fc.AsyncCommand<Model, World>;

type Answer = { ok: true } | { ok: false; error: { code: string } };

function expectOutcome(step: string, predicted: Outcome, answer: Answer): void {
  const got = answer.ok ? "ok" : answer.error.code;
  const want = predicted.ok ? "ok" : predicted.code;
  if (got !== want) throw new Violation(`${step}: the engine answered ${got}, the model predicted ${want}`);
}

async function settle(world: World, m: Model, workersRan: boolean): Promise<void> {
  const rows = await syncWithModel(world, m, workersRan);
  await checkInvariants(world, m, rows);
}

const q = (s: string) => JSON.stringify(s);

/** Picks the n-th request (modulo), or undefined when there is none yet. */
const requestAt = (m: Model, n: number) => (m.requests.length ? m.requests[n % m.requests.length] : undefined);

/** Picks the n-th activation among the open ones when there are any, else among all. */
function activationAt(m: Model, n: number): ModelActivation | undefined {
  const open = m.acts.filter((a) => isOpen(a.phase));
  const pool = open.length > 0 ? open : m.acts;
  return pool.length ? pool[n % pool.length] : undefined;
}

abstract class EngineStep {
  constructor(readonly engine: number) {}
  check(m: Readonly<Model>): boolean {
    return m.alive[this.engine] === true;
  }
}

export class Request extends EngineStep {
  constructor(
    readonly user: UserKey,
    readonly roles: RoleKey[],
    readonly durationMs: number,
    engine: number,
  ) {
    super(engine);
  }
  async run(m: Model, w: World) {
    const predicted = predictRequest(m, this.user, this.roles, this.durationMs);
    const answer = await requestActivation(w.engines[this.engine]!.deps, {
      requesterId: w.userId[this.user],
      roles: this.roles.map((r) => ({ roleId: w.roleId[r] })),
      durationMs: this.durationMs,
      origin: "api",
    });
    expectOutcome(String(this), predicted, answer);
    if (answer.ok) {
      const created = answer.value.activations.map((a) => ({ id: a.id, role: w.roleKeyOf.get(a.roleId)! }));
      acceptRequest(m, answer.value.requestId, this.user, created, this.durationMs, null);
    }
    await settle(w, m, false);
  }
  override toString() {
    return `request(${q(this.user)}, ${JSON.stringify(this.roles)}, ${this.durationMs}, ${this.engine})`;
  }
}

export class Mfa extends EngineStep {
  constructor(
    readonly nth: number,
    readonly by: UserKey | "requester",
    readonly method: "totp" | "passkey",
    engine: number,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    return super.check(m) && m.requests.length > 0;
  }
  async run(m: Model, w: World) {
    const requestId = requestAt(m, this.nth)!;
    const first = m.acts.find((a) => a.requestId === requestId)!;
    const by = this.by === "requester" ? first.user : this.by;
    const predicted = applyMfa(m, requestId, by, this.method);
    const answer = await satisfyMfa(w.engines[this.engine]!.deps, first.id, w.userId[by], { method: this.method });
    expectOutcome(String(this), predicted, answer);
    await settle(w, m, false);
  }
  override toString() {
    return `mfa(${this.nth}, ${q(this.by)}, ${q(this.method)}, ${this.engine})`;
  }
}

export class Decide extends EngineStep {
  constructor(
    readonly nth: number,
    readonly by: UserKey,
    readonly decision: "approve" | "deny",
    engine: number,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    return super.check(m) && m.requests.length > 0;
  }
  async run(m: Model, w: World) {
    const requestId = requestAt(m, this.nth)!;
    const predicted = applyDecision(m, requestId, this.by, this.decision);
    const answer = await decideRequest(w.engines[this.engine]!.deps, {
      requestId,
      approverId: w.userId[this.by],
      decision: this.decision,
    });
    expectOutcome(String(this), predicted, answer);
    await settle(w, m, false);
  }
  override toString() {
    return `decide(${this.nth}, ${q(this.by)}, ${q(this.decision)}, ${this.engine})`;
  }
}

/** Several approvers click Approve at the same moment, each through a different replica. */
export class ApproveRace implements Step {
  constructor(
    readonly nth: number,
    readonly by: UserKey[],
  ) {}
  check(m: Readonly<Model>) {
    return m.requests.length > 0 && m.alive.some(Boolean);
  }
  async run(m: Model, w: World) {
    const requestId = requestAt(m, this.nth)!;
    const live = w.engines.filter((e) => e.alive);
    const answers = await Promise.all(
      this.by.map((u, i) =>
        decideRequest(live[i % live.length]!.deps, { requestId, approverId: w.userId[u], decision: "approve" }),
      ),
    );
    // The clicks were serialized in some order: the answers must be those of one order, and the
    // model follows that order.
    const got = answers.map((a) => (a.ok ? "ok" : a.error.code)).join();
    for (const order of permutations(this.by.map((_, i) => i))) {
      const trial = structuredClone(m);
      const outcomes: string[] = [];
      for (const i of order) {
        const o = applyDecision(trial, requestId, this.by[i]!, "approve");
        outcomes[i] = o.ok ? "ok" : o.code;
      }
      if (outcomes.join() === got) {
        Object.assign(m, trial);
        await settle(w, m, false);
        return;
      }
    }
    throw new Violation(`${this}: the answers ${got} fit no order of the clicks`);
  }
  toString() {
    return `approveRace(${this.nth}, ${JSON.stringify(this.by)})`;
  }
}

export class Cancel extends EngineStep {
  constructor(
    readonly nth: number,
    readonly by: UserKey | "requester",
    engine: number,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    return super.check(m) && m.requests.length > 0;
  }
  async run(m: Model, w: World) {
    const requestId = requestAt(m, this.nth)!;
    const by = this.by === "requester" ? m.acts.find((a) => a.requestId === requestId)!.user : this.by;
    const predicted = applyCancel(m, requestId, by);
    const answer = await cancelRequest(w.engines[this.engine]!.deps, requestId, w.userId[by]);
    expectOutcome(String(this), predicted, answer);
    await settle(w, m, false);
  }
  override toString() {
    return `cancel(${this.nth}, ${q(this.by)}, ${this.engine})`;
  }
}

/** The holder ends an activation early, or an administrator revokes it. */
export class End extends EngineStep {
  constructor(
    readonly nth: number,
    readonly by: UserKey | "owner",
    readonly kind: "deactivated" | "revoked",
    engine: number,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    return super.check(m) && m.acts.length > 0;
  }
  async run(m: Model, w: World) {
    const a = activationAt(m, this.nth)!;
    const by = this.by === "owner" ? a.user : this.by;
    const predicted = applyEnd(m, a, by, this.kind);
    const deps = w.engines[this.engine]!.deps;
    const answer =
      this.kind === "deactivated"
        ? await deactivate(deps, a.id, w.userId[by])
        : await revokeActivationAsAdmin(
            deps,
            { kind: "person", id: w.userId[by] },
            { activationId: a.id },
            "model test",
          );
    expectOutcome(String(this), predicted, answer);
    await settle(w, m, false);
  }
  override toString() {
    return `end(${this.nth}, ${q(this.by)}, ${q(this.kind)}, ${this.engine})`;
  }
}

export class Extend extends EngineStep {
  constructor(
    readonly nth: number,
    readonly durationMs: number,
    engine: number,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    return super.check(m) && m.acts.length > 0;
  }
  async run(m: Model, w: World) {
    const a = activationAt(m, this.nth)!;
    const predicted = predictExtend(m, a, a.user, this.durationMs);
    const answer = await requestExtension(w.engines[this.engine]!.deps, {
      activationId: a.id,
      userId: w.userId[a.user],
      durationMs: this.durationMs,
      origin: "api",
    });
    expectOutcome(String(this), predicted, answer);
    if (answer.ok) {
      const created = answer.value.activations.map((x) => ({ id: x.id, role: a.role }));
      acceptRequest(m, answer.value.requestId, a.user, created, this.durationMs, a.id);
    }
    await settle(w, m, false);
  }
  override toString() {
    return `extend(${this.nth}, ${this.durationMs}, ${this.engine})`;
  }
}

export class Advance implements Step {
  constructor(readonly ms: number) {}
  check() {
    return true;
  }
  async run(m: Model, w: World) {
    w.clock.advance(this.ms);
    m.now += this.ms;
    await settle(w, m, false);
  }
  toString() {
    return `advance(${this.ms})`;
  }
}

/**
 * One replica's durable sweep. With a healthy target and nothing else queued, every activation
 * whose time is up is revoked in this very sweep: at the clock's current instant.
 */
export class Sweep extends EngineStep {
  async run(m: Model, w: World) {
    const clear = m.target === "up" && (await pendingJobs(w)) === 0;
    const expired = applySweep(m);
    await w.engines[this.engine]!.sweep();
    await settle(w, m, true);
    if (!clear) return;
    for (const a of expired)
      if (a.phase !== "ended")
        throw new Violation(`${this}: ${a.user}'s ${a.role} (${a.id}) expired but is ${a.phase}`);
  }
  override toString() {
    return `sweep(${this.engine})`;
  }
}

export class Drain extends EngineStep {
  async run(m: Model, w: World) {
    await w.engines[this.engine]!.drain();
    await settle(w, m, true);
  }
  override toString() {
    return `drain(${this.engine})`;
  }
}

/** Every live replica's worker at once: claims race on the same due jobs. */
export class DrainAll implements Step {
  check(m: Readonly<Model>) {
    return m.alive.some(Boolean);
  }
  async run(m: Model, w: World) {
    await Promise.all(w.engines.filter((e) => e.alive).map((e) => e.drain()));
    await settle(w, m, true);
  }
  toString() {
    return "drainAll()";
  }
}

export class Crash extends EngineStep {
  constructor(
    engine: number,
    readonly midCall: boolean,
  ) {
    super(engine);
  }
  override check(m: Readonly<Model>) {
    // One replica always survives: a cluster with none left has nobody to run the protocol.
    return super.check(m) && m.alive.filter(Boolean).length > 1;
  }
  async run(m: Model, w: World) {
    await w.engines[this.engine]!.crash(this.midCall);
    m.alive[this.engine] = false;
    if (this.midCall && m.target !== "up") for (const a of m.acts) if (a.phase === "activating") a.troubled = true;
    await settle(w, m, false);
  }
  override toString() {
    return `crash(${this.engine}, ${this.midCall})`;
  }
}

export class Restart implements Step {
  constructor(readonly engine: number) {}
  check(m: Readonly<Model>) {
    return m.alive[this.engine] === false;
  }
  async run(m: Model, w: World) {
    w.engines[this.engine]!.start();
    m.alive[this.engine] = true;
    await settle(w, m, false);
  }
  toString() {
    return `restart(${this.engine})`;
  }
}

export class Target implements Step {
  constructor(readonly mode: TargetMode) {}
  check(m: Readonly<Model>) {
    return m.target !== this.mode;
  }
  async run(m: Model, w: World) {
    w.target.mode = this.mode;
    setTarget(m, this.mode);
    await settle(w, m, false);
  }
  toString() {
    return `target(${q(this.mode)})`;
  }
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));
}

// Builders with the names `toString` prints, for regression tests.
export const request = (u: UserKey, r: RoleKey[], ms: number, e: number) => new Request(u, r, ms, e);
export const mfa = (n: number, by: UserKey | "requester", method: "totp" | "passkey", e: number) =>
  new Mfa(n, by, method, e);
export const decide = (n: number, by: UserKey, d: "approve" | "deny", e: number) => new Decide(n, by, d, e);
export const approveRace = (n: number, by: UserKey[]) => new ApproveRace(n, by);
export const cancel = (n: number, by: UserKey | "requester", e: number) => new Cancel(n, by, e);
export const end = (n: number, by: UserKey | "owner", kind: "deactivated" | "revoked", e: number) =>
  new End(n, by, kind, e);
export const extend = (n: number, ms: number, e: number) => new Extend(n, ms, e);
export const advance = (ms: number) => new Advance(ms);
export const sweep = (e: number) => new Sweep(e);
export const drain = (e: number) => new Drain(e);
export const drainAll = () => new DrainAll();
export const crash = (e: number, midCall: boolean) => new Crash(e, midCall);
export const restart = (e: number) => new Restart(e);
export const target = (mode: TargetMode) => new Target(mode);

const ENGINES = 3;
const SECOND = 1_000;

/** Every step, weighted towards the protocol's decisions and the clock. */
export function stepArbitraries(engines = ENGINES): fc.Arbitrary<Step>[] {
  const engine = fc.nat(engines - 1);
  const nth = fc.nat(40);
  const duration = fc.constantFrom(30 * MINUTE, HOUR, 3 * HOUR, 5 * HOUR, 9 * HOUR);
  const requester = fc.constantFrom<UserKey>("ann", "ann", "ben", "cat", "zed");
  const approver = fc.constantFrom<UserKey>("cat", "dan", "eve", "dan", "eve", "root", "ann");
  const roleSet = fc.subarray<RoleKey>(["ops", "dba", "sec", "aud"], { minLength: 1, maxLength: 3 });
  const often = <T>(arb: fc.Arbitrary<T>, weight: number) => ({ arbitrary: arb, weight });
  return [
    fc.oneof(
      often(
        fc.tuple(requester, roleSet, duration, engine).map(([u, r, d, e]) => request(u, r, d, e)),
        5,
      ),
      often(
        fc.tuple(nth, approver, engine).map(([n, a, e]) => decide(n, a, "approve", e)),
        6,
      ),
      often(
        fc.tuple(nth, approver, engine).map(([n, a, e]) => decide(n, a, "deny", e)),
        1,
      ),
      often(
        fc
          .tuple(
            nth,
            fc.constantFrom<UserKey | "requester">("requester", "requester", "ben"),
            fc.constantFrom("totp", "passkey"),
            engine,
          )
          .map(([n, by, method, e]) => mfa(n, by, method as "totp" | "passkey", e)),
        3,
      ),
      often(
        fc.tuple(nth, fc.uniqueArray(approver, { minLength: 2, maxLength: 3 })).map(([n, by]) => approveRace(n, by)),
        2,
      ),
      often(
        fc
          .tuple(nth, fc.constantFrom<UserKey | "requester">("requester", "dan"), engine)
          .map(([n, by, e]) => cancel(n, by, e)),
        1,
      ),
      often(
        fc
          .tuple(nth, fc.constantFrom<UserKey | "owner">("owner", "owner", "dan"), engine)
          .map(([n, by, e]) => end(n, by, "deactivated", e)),
        2,
      ),
      often(
        fc
          .tuple(nth, fc.constantFrom<UserKey>("root", "root", "eve"), engine)
          .map(([n, by, e]) => end(n, by, "revoked", e)),
        1,
      ),
      often(
        fc.tuple(nth, duration, engine).map(([n, d, e]) => extend(n, d, e)),
        2,
      ),
    ),
    fc.oneof(
      often(fc.constantFrom(SECOND, 31 * SECOND, 10 * MINUTE, HOUR, 2 * HOUR + MINUTE, 5 * HOUR).map(advance), 4),
      often(engine.map(sweep), 4),
      often(engine.map(drain), 3),
      often(fc.constant(null).map(drainAll), 2),
      often(
        fc.tuple(engine, fc.boolean()).map(([e, mid]) => crash(e, mid)),
        1,
      ),
      often(engine.map(restart), 2),
      often(fc.constantFrom<TargetMode>("up", "up", "down", "flaky").map(target), 2),
    ),
  ];
}

/** Brings everything back and lets time pass until nothing is left to run; then the end state is exact. */
export async function heal(m: Model, w: World): Promise<number> {
  let steps = 0;
  const apply = async (s: Step) => {
    if (s.check(m)) {
      await s.run(m, w);
      steps++;
    }
  };
  await apply(target("up"));
  for (let e = 0; e < m.alive.length; e++) await apply(restart(e));
  for (let round = 0; round < 30; round++) {
    if ((await pendingJobs(w)) === 0 && !m.acts.some((a) => a.phase === "activating" || a.phase === "ending")) break;
    await apply(advance(31 * SECOND));
    for (let e = 0; e < m.alive.length; e++) await apply(sweep(e));
  }
  if ((await pendingJobs(w)) > 0)
    throw new Violation("outbox jobs are still pending after every replica ran for 15 minutes");
  const stuck = m.acts.filter((a) => a.phase === "activating" || a.phase === "ending");
  if (stuck.length > 0) throw new Violation(`still in flight after healing: ${stuck.map((a) => `${a.id} ${a.phase}`)}`);
  return steps;
}
