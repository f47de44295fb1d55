import { isTransientError } from "../../db/client.js";

/**
 * Whether a unit of work failed because the database was away or busy for a moment (a restart,
 * a failover, a dropped connection, a serialization conflict): nothing was recorded, and the
 * same work may succeed when tried again.
 */
export const isTransientFailure = (error: unknown): boolean => isTransientError(error);
