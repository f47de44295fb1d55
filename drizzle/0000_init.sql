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
CREATE TABLE "alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"rule" text NOT NULL,
	"condition_key" text NOT NULL,
	"severity" text NOT NULL,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"subject" text,
	"details" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"acknowledged_by" text,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"posted_at" timestamp with time zone
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
	"lane" smallint DEFAULT 0 NOT NULL,
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
CREATE TABLE "chat_messages" (
	"platform" text NOT NULL,
	"subject_id" text NOT NULL,
	"kind" text NOT NULL,
	"principal_id" text,
	"conversation_id" text NOT NULL,
	"message_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
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
CREATE TABLE "cron_runs" (
	"job" text NOT NULL,
	"slot" timestamp with time zone NOT NULL,
	"claimed_by" text NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"status" text DEFAULT 'running' NOT NULL,
	"error" text,
	CONSTRAINT "cron_runs_job_slot_pk" PRIMARY KEY("job","slot")
);
--> statement-breakpoint
CREATE TABLE "mfa_oidc_flows" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"nonce" text NOT NULL,
	"code_verifier" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "mfa_passkeys" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_id" text NOT NULL,
	"public_key" text NOT NULL,
	"counter" bigint NOT NULL,
	"transports" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "mfa_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"purpose" text NOT NULL,
	"principal_id" text NOT NULL,
	"request_id" text,
	"activation_id" text,
	"comment" text,
	"csrf" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"proven_at" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"challenge" text
);
--> statement-breakpoint
CREATE TABLE "mfa_totp_secrets" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_id" text NOT NULL,
	"secret" text NOT NULL,
	"pending_token_id" text,
	"confirmed_at" timestamp with time zone,
	"last_time_step" bigint,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notices_sent" (
	"key" text PRIMARY KEY NOT NULL,
	"sent_at" timestamp with time zone NOT NULL
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
CREATE TABLE "review_campaigns" (
	"id" text PRIMARY KEY NOT NULL,
	"definition" text,
	"occurrence_at" timestamp with time zone,
	"settings" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"started_by" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"reminders_sent" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"closed_at" timestamp with time zone,
	"applied_at" timestamp with time zone,
	"applied_by" text,
	"summary" jsonb
);
--> statement-breakpoint
CREATE TABLE "review_decisions" (
	"item_id" text PRIMARY KEY NOT NULL,
	"campaign_id" text NOT NULL,
	"reviewer_id" text NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"decided_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "review_items" (
	"id" text PRIMARY KEY NOT NULL,
	"campaign_id" text NOT NULL,
	"assignment_id" text NOT NULL,
	"principal_id" text NOT NULL,
	"role_id" text NOT NULL,
	"scope" text NOT NULL,
	"kind" text NOT NULL,
	"source" text NOT NULL,
	"assignment_ends_at" timestamp with time zone,
	"since" timestamp with time zone NOT NULL,
	"last_activated_at" timestamp with time zone,
	"activation_count" integer NOT NULL,
	"recommendation" text NOT NULL,
	"reviewers" text[] NOT NULL,
	"outcome" text,
	"outcome_by" text,
	"applied_at" timestamp with time zone
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
CREATE TABLE "teams_conversations" (
	"conversation_id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"aad_object_id" text,
	"user_id" text,
	"principal_id" text,
	"tenant_id" text,
	"service_url" text NOT NULL,
	"bot_id" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_approver_id_principals_id_fk" FOREIGN KEY ("approver_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_oidc_flows" ADD CONSTRAINT "mfa_oidc_flows_token_id_mfa_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."mfa_tokens"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_passkeys" ADD CONSTRAINT "mfa_passkeys_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_tokens" ADD CONSTRAINT "mfa_tokens_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mfa_totp_secrets" ADD CONSTRAINT "mfa_totp_secrets_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_group_id_principals_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_member_id_principals_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."principals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decisions" ADD CONSTRAINT "review_decisions_item_id_review_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."review_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_campaign_id_review_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."review_campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activations_request_idx" ON "activations" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "activations_principal_idx" ON "activations" USING btree ("principal_id","status");--> statement-breakpoint
CREATE INDEX "activations_status_ends_idx" ON "activations" USING btree ("status","ends_at");--> statement-breakpoint
CREATE INDEX "activations_status_deadline_idx" ON "activations" USING btree ("status","approval_deadline");--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_once_idx" ON "approvals" USING btree ("activation_id","approver_id");--> statement-breakpoint
CREATE INDEX "approvals_request_idx" ON "approvals" USING btree ("request_id");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_unresolved_condition_idx" ON "alerts" USING btree ("condition_key") WHERE "alerts"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alerts_status_idx" ON "alerts" USING btree ("status","severity","opened_at");--> statement-breakpoint
CREATE INDEX "alerts_rule_idx" ON "alerts" USING btree ("rule","status");--> statement-breakpoint
CREATE INDEX "assignments_principal_idx" ON "assignments" USING btree ("principal_id");--> statement-breakpoint
CREATE INDEX "assignments_role_idx" ON "assignments" USING btree ("role_id");--> statement-breakpoint
CREATE INDEX "audit_lane_idx" ON "audit_events" USING btree ("lane","id");--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_subject_idx" ON "audit_events" USING btree ("subject","at");--> statement-breakpoint
CREATE INDEX "audit_role_idx" ON "audit_events" USING btree ("role","at");--> statement-breakpoint
CREATE INDEX "audit_event_idx" ON "audit_events" USING btree ("event","at");--> statement-breakpoint
CREATE INDEX "audit_request_idx" ON "audit_events" USING btree ("request_id");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_messages_once_idx" ON "chat_messages" USING btree ("platform","subject_id","kind","conversation_id");--> statement-breakpoint
CREATE INDEX "chat_messages_subject_idx" ON "chat_messages" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "cron_runs_claimed_idx" ON "cron_runs" USING btree ("job","claimed_at");--> statement-breakpoint
CREATE INDEX "mfa_passkeys_principal_idx" ON "mfa_passkeys" USING btree ("principal_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mfa_tokens_hash_idx" ON "mfa_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "mfa_tokens_request_idx" ON "mfa_tokens" USING btree ("request_id","principal_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mfa_totp_confirmed_idx" ON "mfa_totp_secrets" USING btree ("principal_id") WHERE "mfa_totp_secrets"."confirmed_at" is not null;--> statement-breakpoint
CREATE INDEX "mfa_totp_pending_idx" ON "mfa_totp_secrets" USING btree ("pending_token_id");--> statement-breakpoint
CREATE INDEX "outbox_due_idx" ON "outbox_jobs" USING btree ("status","run_at");--> statement-breakpoint
CREATE INDEX "outbox_key_idx" ON "outbox_jobs" USING btree ("key","status");--> statement-breakpoint
CREATE INDEX "outbox_activation_idx" ON "outbox_jobs" USING btree ("activation_id");--> statement-breakpoint
CREATE INDEX "group_members_member_idx" ON "group_members" USING btree ("member_id");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_key_idx" ON "principals" USING btree ("key");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_email_idx" ON "principals" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_slack_idx" ON "principals" USING btree ("slack_id");--> statement-breakpoint
CREATE UNIQUE INDEX "principals_teams_idx" ON "principals" USING btree ("teams_id");--> statement-breakpoint
CREATE UNIQUE INDEX "review_campaigns_occurrence_idx" ON "review_campaigns" USING btree ("definition","occurrence_at") WHERE "review_campaigns"."definition" is not null;--> statement-breakpoint
CREATE INDEX "review_campaigns_status_idx" ON "review_campaigns" USING btree ("status","ends_at");--> statement-breakpoint
CREATE INDEX "review_decisions_campaign_idx" ON "review_decisions" USING btree ("campaign_id");--> statement-breakpoint
CREATE INDEX "review_items_campaign_idx" ON "review_items" USING btree ("campaign_id","id");--> statement-breakpoint
CREATE INDEX "review_items_assignment_idx" ON "review_items" USING btree ("assignment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "policies_role_idx" ON "policies" USING btree ("role_id");--> statement-breakpoint
CREATE UNIQUE INDEX "roles_key_idx" ON "roles" USING btree ("key");--> statement-breakpoint
CREATE INDEX "teams_conversations_aad_idx" ON "teams_conversations" USING btree ("aad_object_id");--> statement-breakpoint
CREATE INDEX "teams_conversations_principal_idx" ON "teams_conversations" USING btree ("principal_id");