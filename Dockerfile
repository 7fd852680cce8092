# Crossline: build with the dev toolchain, run with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json openapi.yaml ./
COPY src ./src
COPY workers ./workers
COPY test ./test
RUN npx tsc -p . && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
USER node
EXPOSE 8080
# Give it REDIS_URL, ESL_URL and API_KEYS; without ESL_URL it starts the ESL simulator instead of FreeSWITCH.
# Run the parts separately with `node dist/src/api/main.js` and `node dist/workers/main.js`.
CMD ["node", "dist/src/main.js"]
