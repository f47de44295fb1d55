# syntax=docker/dockerfile:1
# pim-bot: compiled in one stage, run from a second that holds only production dependencies.
#   docker build -t pim-bot .
#   docker run -p 3000:3000 --env-file .env pim-bot
# or, with PostgreSQL, `docker compose up` (compose.yaml).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY scripts ./scripts
COPY src ./src
# The build also writes an empty, migrated embedded database for first starts: it reads the migrations.
COPY drizzle ./drizzle
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time beside the compiled code: the migrations and the example policy.
COPY drizzle ./drizzle
COPY pim.example.yaml ./
# The embedded database's files when DATABASE_URL is unset (one replica only).
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
ENV PORT=3000 \
    HOST=0.0.0.0 \
    PGLITE_DIR=/app/data \
    PIM_CONFIG=/app/pim.yaml
EXPOSE 3000
USER node
# Ready means the database answers, not only the process: the image has no curl, node does the check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches node directly (exec form): it stops taking requests and finishes in-flight work.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
