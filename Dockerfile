# Crossline: build with the dev toolchain, run with production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci: exactly what package-lock.json pins. (It also fetches the dev dependency `node`, the Node 24
# binary that npm scripts use on machines with an older Node; npm prune drops it again below.)
RUN npm ci --no-audit --no-fund
COPY tsconfig.json openapi.yaml ./
COPY src ./src
COPY workers ./workers
COPY test ./test
# npm run build regenerates src/api/contract.gen.ts from openapi.yaml, then compiles.
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# /docs serves these files as they are (tsc does not copy them into dist/).
COPY src/api/docs-assets ./src/api/docs-assets
COPY package.json openapi.yaml ./
USER node
EXPOSE 8080
# Give it REDIS_URL, ESL_URL and API_KEYS; without ESL_URL it starts the ESL simulator instead of FreeSWITCH.
# Run the parts separately with `node dist/src/api/main.js` and `node dist/workers/main.js`.
CMD ["node", "dist/src/main.js"]
