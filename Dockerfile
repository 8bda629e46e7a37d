# zhian hub image: Node 20, the TypeScript sources run through tsx (as `npm start` does).
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded, hence the toolchain
# in the build stage only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ libpq-dev \
  && rm -rf /var/lib/apt/lists/*
COPY . .
# `npm ci` installs exactly the lock (checked: the lock lists every platform's @biomejs/cli-* entry, so
# `npm ci` accepts it; only the image's own platform is fetched). It also runs `prepare` (the web
# dashboard build); then the dev dependencies go. Everything is in the image: nothing is fetched at run time.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# libpq for the PostgreSQL store (pg-native, built against libpq-dev above): ZHIAN_DATABASE_URL.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libpq5 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    ZHIAN_DATA_DIR=/data \
    ZHIAN_MQTT_PORT=1883 \
    ZHIAN_HTTP_PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1883 8883 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ZHIAN_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=64", "--import", "tsx", "src/main.ts", "start"]
