CREATE TABLE "activations" (
	"id" text PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"principal_id" text NOT NULL,
	"role_id" text NOT NULL,
	"scope" text NOT NULL,
	"status" text NOT NULL,
	"duration_ms" bigint NOT NULL,
	"justification" text,
	"ticket" text,
	"requested_at" timestamp with time zone NOT NULL,
	"origin" text NOT NULL,
	"basis" text NOT NULL,
	"extends_id" text,
	"mfa_required" boolean NOT NULL,
	"mfa_satisfied_at" timestamp with time zone,
	"mfa_evidence" jsonb,
	"approval_required" boolean NOT NULL,
	"approvals_needed" integer NOT NULL,
	"approval_deadline" timestamp with time zone,
	"activated_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"reason" text,
	"closed_by" text,
	"version" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"activation_id" text NOT NULL,
	"request_id" text NOT NULL,
	"approver_id" text NOT NULL,
	"decision" text NOT NULL,
	"comment" text,
	"decided_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "assignments" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_id" text NOT NULL,
	"role_id" text NOT NULL,
	"scope" text NOT NULL,
	"kind" text NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"justification" text,
	"source" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"event" text NOT NULL,
	"actor" text NOT NULL,
	"subject" text,
	"role" text,
	"scope" text,
	"request_id" text,
	"activation_id" text,
	"justification" text,
	"ticket" text,
	"decision" text,
	"approver" text,
	"data" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connector_log_holdings" (
	"login" text NOT NULL,
	"role" text NOT NULL,
	"scope" text NOT NULL,
	"granted_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connector_log_holdings_login_role_scope_pk" PRIMARY KEY("login","role","scope")
);
--> statement-breakpoint
CREATE TABLE "outbox_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"activation_id" text,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"locked_by" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "group_members" (
	"group_id" text NOT NULL,
	"member_id" text NOT NULL,
	"relation" text DEFAULT 'member' NOT NULL,
	CONSTRAINT "group_members_group_id_member_id_relation_pk" PRIMARY KEY("group_id","member_id","relation")
);
--> statement-breakpoint
CREATE TABLE "principals" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"slack_id" text,
	"teams_id" text,
	"manager_id" text,
	"admin" boolean DEFAULT false NOT NULL,
	"break_glass" boolean DEFAULT false NOT NULL,
	"retired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" text PRIMARY KEY NOT NULL,
	"role_id" text,
	"settings" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "roles" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"connector" jsonb NOT NULL,
	"scopes" jsonb NOT NULL,
	"notify" boolean DEFAULT false NOT NULL,
	"critical" boolean DEFAULT false NOT NULL,
	"retired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scopes" (
	"path" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_approver_id_principals_id_fk" FOREIGN KEY ("approver_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_group_id_principals_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_member_id_principals_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activations_request_idx" ON "activations" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "activations_principal_idx" ON "activations" USING btree ("principal_id","status");--> statement-breakpoint
CREATE INDEX "activations_status_ends_idx" ON "activations" USING btree ("status","ends_at");--> statement-breakpoint
CREATE INDEX "activations_status_deadline_idx" ON "activations" USING btree ("status","approval_deadline");--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_once_idx" ON "approvals" USING btree ("activation_id","approver_id");--> statement-breakpoint
CREATE INDEX "approvals_request_idx" ON "approvals" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "assignments_principal_idx" ON "assignments" USING btree ("principal_id");--> statement-breakpoint
CREATE INDEX "assignments_role_idx" ON "assignments" USING btree ("role_id");--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_subject_idx" ON "audit_events" USING btree ("subject","at");--> statement-breakpoint
CREATE INDEX "audit_role_idx" ON "audit_events" USING btree ("role","at");--> statement-breakpoint
CREATE INDEX "audit_event_idx" ON "audit_events" USING btree ("event","at");--> statement-breakpoint
CREATE INDEX "audit_request_idx" ON "audit_events" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "outbox_due_idx" ON "outbox_jobs" USING btree ("status","run_at");--> statement-breakpoint
CREATE INDEX "outbox_key_idx" ON "outbox_jobs" USING btree ("key","status");--> statement-breakpoint
CREATE INDEX "outbox_activation_idx" ON "outbox_jobs" USING btree ("activation_id");--> statement-breakpoint
CREATE INDEX "group_members_member_idx" ON "group_members" USING btree ("member_id");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_key_idx" ON "principals" USING btree ("key");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_email_idx" ON "principals" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_slack_idx" ON "principals" USING btree ("slack_id");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_teams_idx" ON "principals" USING btree ("teams_id");--> statement-breakpoint
CREATE UNIQUE INDEX "policies_role_idx" ON "policies" USING btree ("role_id");--> statement-breakpoint
CREATE UNIQUE INDEX "roles_key_idx" ON "roles" USING btree ("key");