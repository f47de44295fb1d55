CREATE TABLE "audit_lanes" (
	"lane" smallint PRIMARY KEY NOT NULL,
	"hash" text NOT NULL
);
