import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at } from "./columns.js";
import { principals } from "./principals.js";

/**
 * One-time step-up links. Only the SHA-256 of the token is kept, so a database leak does not
 * hand out working links. Each row is bound to one principal and, for activation and approval
 * links, to one request.
 */
export const mfaTokens = pgTable(
  "mfa_tokens",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    /**
     * `invite`: an enrollment link an administrator issued, which proves a first factor.
     * `assignment`: an administrator's step-up for an active assignment waiting on it.
     */
    purpose: text("purpose", { enum: ["activation", "approval", "enroll", "invite", "assignment"] }).notNull(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    /** The request (activation and approval links), or the pending assignment (`asr_…`, assignment links). */
    requestId: text("request_id"),
    activationId: text("activation_id"),
    /** Approval links: the approver's comment, applied with the decision once the step-up passes. */
    comment: text("comment"),
    /** Forms on the page must echo it back; it is worthless without the token itself. */
    csrf: text("csrf").notNull(),
    createdAt: at("created_at").notNull(),
    expiresAt: at("expires_at").notNull(),
    usedAt: at("used_at"),
    /** Enrollment links of someone who already has a factor: set once they proved it. */
    provenAt: at("proven_at"),
    failures: integer("failures").notNull().default(0),
    /** The WebAuthn challenge in flight, if any; cleared when a response is checked. */
    challenge: text("challenge"),
  },
  (t) => [
    uniqueIndex("mfa_tokens_hash_idx").on(t.tokenHash),
    index("mfa_tokens_request_idx").on(t.requestId, t.principalId),
  ],
);

/** TOTP secrets, AES-256-GCM encrypted. A row with a pending token awaits its first code. */
export const mfaTotpSecrets = pgTable(
  "mfa_totp_secrets",
  {
    id: text("id").primaryKey(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    secret: text("secret").notNull(),
    pendingTokenId: text("pending_token_id"),
    confirmedAt: at("confirmed_at"),
    /** The RFC 6238 time step of the last accepted code: that code and older ones never work again. */
    lastTimeStep: bigint("last_time_step", { mode: "number" }),
    createdAt: at("created_at").notNull(),
    /** A first factor set up without proof counts for step-ups only from here (MFA_ENROLLMENT_DELAY). */
    usableAt: at("usable_at").notNull().defaultNow(),
    /** How the right to add it was proven: `factor`, `invitation`, `oidc` or `delay`. */
    enrolledVia: text("enrolled_via"),
  },
  (t) => [
    uniqueIndex("mfa_totp_confirmed_idx").on(t.principalId).where(sql`${t.confirmedAt} is not null`),
    index("mfa_totp_pending_idx").on(t.pendingTokenId),
  ],
);

/** Registered passkeys; the id is the credential id (base64url) the authenticator chose. */
export const mfaPasskeys = pgTable(
  "mfa_passkeys",
  {
    id: text("id").primaryKey(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    publicKey: text("public_key").notNull(),
    counter: bigint("counter", { mode: "number" }).notNull(),
    transports: jsonb("transports").$type<string[]>().notNull(),
    createdAt: at("created_at").notNull(),
    lastUsedAt: at("last_used_at"),
    /** As for TOTP secrets: a passkey set up without proof counts only from here. */
    usableAt: at("usable_at").notNull().defaultNow(),
    enrolledVia: text("enrolled_via"),
  },
  (t) => [index("mfa_passkeys_principal_idx").on(t.principalId)],
);

/** OpenID Connect step-ups in flight, keyed by the hash of their state parameter. */
export const mfaOidcFlows = pgTable("mfa_oidc_flows", {
  stateHash: text("state_hash").primaryKey(),
  tokenId: text("token_id")
    .notNull()
    .references(() => mfaTokens.id),
  nonce: text("nonce").notNull(),
  codeVerifier: text("code_verifier").notNull(),
  /** SHA-256 of the cookie set in the browser that started the flow; the callback must bring it. */
  browserHash: text("browser_hash"),
  createdAt: at("created_at").notNull(),
  expiresAt: at("expires_at").notNull(),
  usedAt: at("used_at"),
});

/** Failed step-up tries, counted per person across all their links within a sliding window. */
export const mfaFailures = pgTable(
  "mfa_failures",
  {
    id: text("id").primaryKey(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    method: text("method").notNull(),
    at: at("at").notNull(),
  },
  (t) => [index("mfa_failures_principal_idx").on(t.principalId, t.at)],
);

/** A person's step-up locked after too many failures: until it expires or an administrator clears it. */
export const mfaLockouts = pgTable(
  "mfa_lockouts",
  {
    id: text("id").primaryKey(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    lockedAt: at("locked_at").notNull(),
    until: at("until").notNull(),
    clearedAt: at("cleared_at"),
    clearedBy: text("cleared_by"),
  },
  (t) => [index("mfa_lockouts_principal_idx").on(t.principalId, t.lockedAt)],
);

/**
 * The IdP account bound to a principal: the issuer and its stable subject (`oid` or `sub`), set by
 * the first accepted sign-in. Later sign-ins must show the same subject, whatever their e-mail says.
 */
export const mfaOidcBindings = pgTable(
  "mfa_oidc_bindings",
  {
    principalId: text("principal_id")
      .primaryKey()
      .references(() => principals.id),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    boundAt: at("bound_at").notNull(),
  },
  (t) => [uniqueIndex("mfa_oidc_bindings_subject_idx").on(t.issuer, t.subject)],
);
