# imeiflow: multi-stage, Debian (bookworm) Node 20. node-rdkafka and lmdb build from source in
# the first stage; the runtime image carries only what they link against.
#   docker build -t imeiflow .
#   docker run -p 8080:8080 -v imeiflow-data:/var/lib/imeiflow -e KAFKA_BROKERS=kafka:9092 imeiflow

FROM node:20-bookworm AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY config config
COPY src src
COPY bench bench
COPY scripts scripts
# `npm ci` builds the native addons and runs `prepare` (tsc); then drop the dev dependencies.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/imeiflow && chown node:node /var/lib/imeiflow
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/bin bin
COPY --from=build /app/config config
COPY --from=build /app/dist dist
COPY --from=build /app/node_modules node_modules
ENV NODE_ENV=production \
    IMEIFLOW_DATA_DIR=/var/lib/imeiflow \
    IMEIFLOW_HTTP_PORT=8080
VOLUME /var/lib/imeiflow
USER node
EXPOSE 8080
# HTTPS when the control plane has a certificate (not checked: this is the process itself), else HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const get = (m) => new Promise((ok, no) => require(m).get({ host: '127.0.0.1', port: process.env.IMEIFLOW_HTTP_PORT, path: '/healthz', rejectUnauthorized: false }, (r) => ok(r.statusCode)).on('error', no)); get('node:https').catch(() => get('node:http')).then((s) => process.exit(s === 200 ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/imeiflow.js"]
CMD ["run"]
