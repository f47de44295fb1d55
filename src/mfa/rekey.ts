import { type EngineDeps, inTransaction } from "../app/kernel/unit-of-work.js";
import { replaceTotpSecret, totpSecretsAfter } from "../db/repos/totp-secrets.js";
import type { SecretBox } from "./secret-box.js";

export interface RekeyOutcome {
  /** Authenticator secrets stored. */
  total: number;
  /** Sealed again with the first key of the ring (they had been sealed with another). */
  rekeyed: number;
  /** Opened by no key of the ring: their owners must set up their authenticator again. */
  unreadable: string[];
}

const PAGE = 500;

/**
 * Seals every stored authenticator secret with the first key of the ring, a page per transaction
 * (a secret is read and written in one), and records the outcome in the audit log. Run it while
 * every replica has the new key first and the old one after it; afterwards the old key can go.
 */
export async function rekeyTotpSecrets(deps: EngineDeps, box: SecretBox, by: string): Promise<RekeyOutcome> {
  const outcome: RekeyOutcome = { total: 0, rekeyed: 0, unreadable: [] };
  let after = "";
  for (;;) {
    // Counted per page and added up once it commits, so a retried transaction counts once.
    const page = await inTransaction(deps, async (work) => {
      const rows = await totpSecretsAfter(work.tx, after, PAGE);
      const counted = { rows, rekeyed: 0, unreadable: [] as string[] };
      for (const row of rows) {
        const opened = box.openWithIndex(row.secret, row.principalId);
        if (!opened) counted.unreadable.push(row.id);
        else if (opened.key !== 0) {
          await replaceTotpSecret(work.tx, row.id, box.seal(opened.plaintext, row.principalId));
          counted.rekeyed++;
        }
      }
      return counted;
    });
    outcome.total += page.rows.length;
    outcome.rekeyed += page.rekeyed;
    outcome.unreadable.push(...page.unreadable);
    if (page.rows.length < PAGE) break;
    after = page.rows.at(-1)!.id;
  }
  await inTransaction(deps, async (work) => {
    work.audit({
      event: "mfa.rekeyed",
      actor: by,
      data: { total: outcome.total, rekeyed: outcome.rekeyed, unreadable: outcome.unreadable.length },
    });
  });
  return outcome;
}
