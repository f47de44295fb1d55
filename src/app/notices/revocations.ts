import { queryAudit } from "../../db/audit-log.js";
import { getActivation } from "../../db/repos/activations.js";
import { principalById, principalByKey, rolesByIds } from "../../db/repos/directory.js";
import { claimNotice } from "../../db/repos/notices.js";
import { person } from "../activation/views.js";
import type { EngineEvent } from "../kernel/events.js";
import type { RevokedNotice } from "./delivery.js";
import { NoticeListener } from "./notice-listener.js";

/**
 * Tells the holder, in a direct message, that an administrator revoked one of their roles: which
 * role, who, and why; once per activation across the cluster, as soon as the revoke is asked in
 * this process or, for one asked elsewhere (the `pim` command line), when the revoke is done.
 * Their request card is redrawn as well (it says "revoked by an administrator").
 */
export class RevocationNotices extends NoticeListener {
  protected handle(event: EngineEvent): Promise<void> | null {
    return event.type === "activation.revoked" ? this.tell(event) : null;
  }

  private async tell(event: Extract<EngineEvent, { type: "activation.revoked" }>): Promise<void> {
    const { db, clock } = this.deps;
    const [holder, activation] = await Promise.all([
      principalById(db, event.holderId),
      getActivation(db, event.activationId),
    ]);
    if (!holder || !activation) return;
    const why =
      event.reason !== null && event.revokedBy !== null
        ? event
        : await this.recorded(event.requestId, event.activationId);
    if (!why?.reason || !why.revokedBy) return;
    if (!(await claimNotice(db, `revoked:${event.activationId}`, clock.now()))) return;
    const role = (await rolesByIds(db, [activation.roleId])).get(activation.roleId);
    const notice: RevokedNotice = {
      holder: person(holder),
      activationId: event.activationId,
      requestId: event.requestId,
      roleName: role?.name ?? activation.roleId,
      scope: activation.scope,
      revokedBy: why.revokedBy,
      reason: why.reason,
      at: clock.now(),
    };
    await this.delivery.toPerson(notice.holder, { type: "activation.revoked", notice });
  }

  /** Who revoked it and why, as its `activation.ending` audit event says. */
  private async recorded(
    requestId: string,
    activationId: string,
  ): Promise<{ revokedBy: string; reason: string } | undefined> {
    const rows = await queryAudit(this.deps.db, { event: "activation.ending", requestId });
    const ending = rows.find((r) => r.activationId === activationId);
    const by = ending?.data.revokedBy;
    const reason = ending?.data.reason;
    if (typeof by !== "string" || typeof reason !== "string") return undefined;
    const admin = by.startsWith("cli:") ? undefined : await principalByKey(this.deps.db, by);
    return { revokedBy: admin?.name ?? by, reason };
  }
}
