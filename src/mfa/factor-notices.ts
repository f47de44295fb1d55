import { person } from "../app/activation/views.js";
import type { EngineEvent } from "../app/kernel/events.js";
import type { FactorNotice } from "../app/notices/delivery.js";
import { NoticeListener } from "../app/notices/notice-listener.js";
import { adminIds, principalById, principalsByIds } from "../db/repos/directory.js";

/**
 * Tells a person of every change to their MFA factors, in chat, right after it happened; a first
 * factor set up without proof (it waits out MFA_ENROLLMENT_DELAY) is told to the administrators
 * too. The alert channel hears of the same change through the alerts module (`mfa_factor_changed`).
 */
export class FactorNotices extends NoticeListener {
  protected handle(event: EngineEvent): Promise<void> | null {
    return event.type === "alert" && event.kind === "mfa_factor_changed" ? this.tell(event.detail) : null;
  }

  private async tell(detail: Record<string, unknown>): Promise<void> {
    const db = this.deps.db;
    const who = await principalById(db, String(detail.principalId));
    if (!who) return;
    const notice: FactorNotice = {
      person: person(who),
      change: detail.change as FactorNotice["change"],
      method: String(detail.method),
      via: typeof detail.via === "string" ? detail.via : null,
      usableAt: typeof detail.usableAt === "string" ? new Date(detail.usableAt) : null,
      by: typeof detail.by === "string" ? detail.by : null,
      forAdmins: false,
      at: this.deps.clock.now(),
    };
    await this.delivery.toPerson(notice.person, { type: "mfa.factor", notice });
    if (notice.via !== "delay") return;
    const admins = await principalsByIds(
      db,
      [...(await adminIds(db))].filter((id) => id !== who.id),
    );
    for (const admin of admins.values())
      await this.delivery.toPerson(person(admin), { type: "mfa.factor", notice: { ...notice, forAdmins: true } });
  }
}
