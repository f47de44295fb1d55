ALTER TABLE "principals" ADD COLUMN "slack_linked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "teams_linked_at" timestamp with time zone;