CREATE TABLE "audit_stream_cursors" (
	"sink" text NOT NULL,
	"lane" smallint NOT NULL,
	"last_id" bigint NOT NULL,
	CONSTRAINT "audit_stream_cursors_sink_lane_pk" PRIMARY KEY("sink","lane")
);
