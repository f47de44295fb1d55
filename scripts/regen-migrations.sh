#!/usr/bin/env bash
# Regenerates drizzle/ from the schema: one generated migration plus the hand-written audit
# trigger. Only for the time before the first release; after it, use `npm run db:generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/pim-bot-regen.lock
flock 9
rm -rf drizzle
npx drizzle-kit generate --name init >/dev/null
npx drizzle-kit generate --custom --name audit_append_only >/dev/null
cp scripts/audit-append-only.sql drizzle/0001_audit_append_only.sql
ls drizzle
