# The integration's processes (acme-sync) and the Acme sandbox, one image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY sandbox ./sandbox
COPY scripts ./scripts
COPY test ./test
COPY vitest.config.ts ./
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY migrations ./migrations
USER node
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--help"]
