CREATE TABLE "directory_version" (
	"id" smallint PRIMARY KEY NOT NULL,
	"version" text NOT NULL
);
