DROP INDEX "outbox_due_idx";--> statement-breakpoint
DROP INDEX "outbox_key_idx";--> statement-breakpoint
CREATE INDEX "outbox_pending_due_idx" ON "outbox_jobs" USING btree ("run_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "outbox_pending_key_idx" ON "outbox_jobs" USING btree ("key") WHERE status = 'pending';