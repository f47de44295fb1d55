CREATE TABLE "assignment_removals" (
	"principal_key" text NOT NULL,
	"role_key" text NOT NULL,
	"scope" text NOT NULL,
	"kind" text NOT NULL,
	"removed_by" text NOT NULL,
	"by_name" text NOT NULL,
	"campaign_id" text,
	"reason" text,
	"removed_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "assignment_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"principal_id" text NOT NULL,
	"role_id" text NOT NULL,
	"scope" text NOT NULL,
	"kind" text NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"justification" text,
	"assignment_id" text,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"comment" text
);
--> statement-breakpoint
ALTER TABLE "assignment_requests" ADD CONSTRAINT "assignment_requests_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignment_requests" ADD CONSTRAINT "assignment_requests_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "assignment_removals_identity_idx" ON "assignment_removals" USING btree ("principal_key","role_key","scope","kind");--> statement-breakpoint
CREATE INDEX "assignment_requests_status_idx" ON "assignment_requests" USING btree ("status","type");--> statement-breakpoint
CREATE UNIQUE INDEX "assignment_requests_open_idx" ON "assignment_requests" USING btree ("assignment_id","type") WHERE "assignment_requests"."status" = 'pending' and "assignment_requests"."assignment_id" is not null;