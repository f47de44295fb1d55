import { getActivation } from "../db/repos/activations.js";
import { principalById, rolesByIds } from "../db/repos/directory.js";
import type { EngineDeps, EngineEvent } from "./context.js";
import type { Delivery } from "./delivery.js";
import { type PersonView, person } from "./queries.js";

/** An administrator took a role away: what its holder is told. */
export interface RevokedNotice {
  holder: PersonView;
  activationId: string;
  requestId: string;
  roleName: string;
  scope: string;
  /** The administrator's name (or `cli:<login>` for the operator). */
  revokedBy: string;
  reason: string;
  at: Date;
}

/**
 * Tells the holder, in a direct message, that an administrator revoked one of their roles: which
 * role, who, and why. Their request card is redrawn as well (it says "revoked by an administrator").
 */
export class RevocationNotices {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly deps: Pick<EngineDeps, "db" | "clock">,
    private readonly delivery: Delivery,
    private readonly onError: (error: unknown) => void,
  ) {}

  readonly onEvent = (event: EngineEvent): void => {
    if (event.type !== "activation.revoked") return;
    const job = this.tell(event).catch(this.onError);
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  };

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async tell(event: Extract<EngineEvent, { type: "activation.revoked" }>): Promise<void> {
    const { db, clock } = this.deps;
    const [holder, activation] = await Promise.all([
      principalById(db, event.holderId),
      getActivation(db, event.activationId),
    ]);
    if (!holder || !activation) return;
    const role = (await rolesByIds(db, [activation.roleId])).get(activation.roleId);
    const notice: RevokedNotice = {
      holder: person(holder),
      activationId: event.activationId,
      requestId: event.requestId,
      roleName: role?.name ?? activation.roleId,
      scope: activation.scope,
      revokedBy: event.revokedBy,
      reason: event.reason,
      at: clock.now(),
    };
    await this.delivery.toPerson(notice.holder, { type: "activation.revoked", notice });
  }
}
