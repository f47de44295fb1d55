CREATE TABLE "mfa_failures" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_id" text NOT NULL,
	"method" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mfa_lockouts" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_id" text NOT NULL,
	"locked_at" timestamp with time zone NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"cleared_at" timestamp with time zone,
	"cleared_by" text
);
--> statement-breakpoint
CREATE TABLE "mfa_oidc_bindings" (
	"principal_id" text PRIMARY KEY NOT NULL,
	"issuer" text NOT NULL,
	"subject" text NOT NULL,
	"bound_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mfa_oidc_flows" ADD COLUMN "browser_hash" text;--> statement-breakpoint
ALTER TABLE "mfa_passkeys" ADD COLUMN "usable_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "mfa_passkeys" ADD COLUMN "enrolled_via" text;--> statement-breakpoint
ALTER TABLE "mfa_totp_secrets" ADD COLUMN "usable_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "mfa_totp_secrets" ADD COLUMN "enrolled_via" text;--> statement-breakpoint
ALTER TABLE "mfa_failures" ADD CONSTRAINT "mfa_failures_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_lockouts" ADD CONSTRAINT "mfa_lockouts_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_oidc_bindings" ADD CONSTRAINT "mfa_oidc_bindings_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mfa_failures_principal_idx" ON "mfa_failures" USING btree ("principal_id","at");--> statement-breakpoint
CREATE INDEX "mfa_lockouts_principal_idx" ON "mfa_lockouts" USING btree ("principal_id","locked_at");--> statement-breakpoint
CREATE UNIQUE INDEX "mfa_oidc_bindings_subject_idx" ON "mfa_oidc_bindings" USING btree ("issuer","subject");