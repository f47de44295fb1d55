CREATE TABLE "target_health" (
	"target" text PRIMARY KEY NOT NULL,
	"failing_since" timestamp with time zone,
	"alerted_at" timestamp with time zone,
	"last_error" text,
	"last_failure_at" timestamp with time zone,
	"last_success_at" timestamp with time zone
);
