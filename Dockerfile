# The integration's processes (acme-sync edge | consumers | admin | init | dlq | ...), one image.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# schemas/ marks the project root for the compiler's output as it does at run time.
COPY schemas ./schemas
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# kafkajs 2.2.4 warns on Node 24 with a harmless 1 ms timer (tulios/kafkajs#1751); scripts/node.sh does the same.
ENV NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY migrations ./migrations
USER node
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--help"]
