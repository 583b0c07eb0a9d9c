/**
 * Keys of PostgreSQL advisory locks. Advisory locks are database-wide, while everything
 * they protect here lives in one schema (DATABASE_SCHEMA: one per environment, one per
 * test file): a key without the schema lets another environment in the same database hold
 * our lock — a try-lock then skips work it should do (the outbox relay found no free lane,
 * a poll skipped a tenant), a blocking lock waits for nothing. So every key is hashed with
 * `current_schema()` (the first schema of the connection's search_path, where our tables
 * are). PostgreSQL docs, "Advisory Locks": keys are per database.
 *
 * `schemaKey(expr)` is SQL for an int4 key from a text expression; test/db/advisory.test.ts
 * checks that every advisory lock in src/ takes its key from here.
 */
export function schemaKey(textExpression: string): string {
  return `hashtext(current_schema() || ':' || ${textExpression})`;
}
