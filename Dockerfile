# trustee-ts images: one Dockerfile, the SERVICE build argument picks kbs, as or rvps.
# Build from the repository root (the classic builder and BuildKit alike):
#   docker build --build-arg SERVICE=kbs  -t trustee-ts/kbs:0.1.0 .
#   docker build --build-arg SERVICE=as   -t trustee-ts/as:0.1.0 .
#   docker build --build-arg SERVICE=rvps -t trustee-ts/rvps:0.1.0 .
# NODE_IMAGE picks the Node 22 image the build runs in; the runtime is RUNTIME_IMAGE (the Debian
# release node:22-slim is built on) plus that image's node binary only: no npm, yarn, corepack or
# C headers, which are a third of node:22-slim. docker-compose.yml and deploy/ wire the images
# up; docs/deploy.md shows how. The image runs the compiled JavaScript with plain node:
#   node --conditions=trustee-compiled /app/service/dist/main.js
# as uid 1000 on a read-only root filesystem; state under /var/lib/trustee (a volume), config and
# keys mounted under /etc/trustee, /tmp as a tmpfs.

ARG NODE_IMAGE=node:22-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG SERVICE=kbs

FROM ${NODE_IMAGE} AS build
# pnpm comes from corepack, pinned by hash in package.json's packageManager (the integrity-key
# check is off because the hash pin is what is verified). better-sqlite3 falls back to compiling
# against the image's own Node headers (/usr/local/include/node): python3, make and g++.
ENV CI=true \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    COREPACK_INTEGRITY_KEYS=0 \
    npm_config_nodedir=/usr/local
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# The repository's .npmrc points node-gyp at Debian's /usr headers (this image keeps them in
# /usr/local) and silences pnpm (a failing build must say why): override both. `pnpm fetch`
# needs only the lockfile, so this layer stays cached until a dependency changes.
RUN sed -i -e 's#^nodedir=.*#nodedir=/usr/local#' -e 's#^reporter=.*#reporter=append-only#' .npmrc \
 && corepack enable pnpm \
 && pnpm --version \
 && pnpm fetch --reporter=append-only
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY packages ./packages
COPY services ./services
COPY tests ./tests
# Every service is compiled here, before SERVICE is read, so the three images share this layer.
RUN pnpm install --offline --frozen-lockfile --reporter=append-only \
 && pnpm build
COPY deploy/docker ./deploy/docker
ARG SERVICE
RUN sh deploy/docker/build-runtime.sh "${SERVICE}" /app \
 && cp deploy/docker/healthcheck.mjs /app/healthcheck.mjs

FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# Writable state lives under /var/lib/trustee (a volume); config and keys are mounted under /etc/trustee.
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --no-create-home --shell /usr/sbin/nologin node \
 && mkdir -p /var/lib/trustee /etc/trustee \
 && chown 1000:1000 /var/lib/trustee \
 && node --version
WORKDIR /app
COPY --from=build /app /app
# Numeric, so Kubernetes can check runAsNonRoot (uid 1000 is the `node` user).
USER 1000:1000
# One process, no loader: SIGTERM reaches the service's own handler.
ENTRYPOINT ["node", "--conditions=trustee-compiled", "/app/service/dist/main.js"]

# Per-service ports, health probe and default command line (metadata only; `FROM ${SERVICE}` below
# picks one, and BuildKit skips the others).
FROM runtime AS kbs
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:8080/healthz"]
CMD ["--config-file", "/etc/trustee/kbs-config.toml"]

FROM runtime AS as
EXPOSE 50004
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "grpc://127.0.0.1:50004"]
CMD ["--config-file", "/etc/trustee/as-config.json", "--socket", "0.0.0.0:50004"]

FROM runtime AS rvps
EXPOSE 50003
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "grpc://127.0.0.1:50003"]
CMD ["--config", "/etc/trustee/rvps.json", "--address", "0.0.0.0:50003"]

FROM ${SERVICE}
