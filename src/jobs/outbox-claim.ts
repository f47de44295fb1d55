import type { JobRow } from "../db/repos/outbox.js";
import type { Claim } from "../db/repos/outbox-claims.js";

export { type Claim, claimJobs, heldClaims, releaseClaims, renewClaims } from "../db/repos/outbox-claims.js";
export type { JobRow };

/** The claim a worker holds on a job it claimed: the job's attempt number is its fencing token. */
export const claimOf = (job: Pick<JobRow, "id" | "attempts">): Claim => ({ id: job.id, token: job.attempts });
