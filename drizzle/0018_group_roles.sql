ALTER TABLE "roles" ADD COLUMN "group_id" text;--> statement-breakpoint
ALTER TABLE "roles" ADD COLUMN "group_access" text;--> statement-breakpoint
ALTER TABLE "roles" ADD CONSTRAINT "roles_group_id_principals_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;