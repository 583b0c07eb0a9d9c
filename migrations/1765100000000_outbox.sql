-- Up Migration

-- The transactional outbox (issue 14; the pattern: https://microservices.io/patterns/data/transactional-outbox.html).
-- A consumer batch inserts its outputs and DLQ records here in the SAME transaction as its
-- sink writes, ledger and offsets, and holds no lock across a Kafka round trip; a relay
-- publishes committed rows afterwards and deletes them once Kafka acknowledged them
-- (at-least-once: a crash between the ack and the delete publishes the rows again).
-- Nothing is published for a transaction that rolled back: its rows never existed.
--
-- Per-key order: `lane` is a hash of (topic, key) into a fixed number of lanes; one relay at
-- a time owns a lane (a transaction-scoped advisory lock) and publishes its rows in `id`
-- order. Two outputs of one key come from transactions that both locked the row behind it,
-- so the later one took its `id` after the earlier one committed.
CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  lane         smallint    NOT NULL,
  -- 'output' (calendar, touchpoints, ...) or 'dlq' (indexed in dlq_records once published)
  kind         text        NOT NULL,
  topic        text        NOT NULL,
  key          text,
  value        bytea,
  headers      jsonb,
  -- the consumer group whose batch wrote it (diagnostics)
  source_group text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_lane ON outbox (lane, id);

-- The DLQ topic, queryable: one row per DLQ record Kafka acknowledged, with its position,
-- bytes and headers, written by whoever published it (the outbox relay, the edge and
-- poller dead-letter writer). The admin API and `acme-sync dlq` answer from here instead of
-- reading the whole topic with a throw-away consumer group.
CREATE TABLE dlq_records (
  dlq_topic     text        NOT NULL,
  dlq_partition integer     NOT NULL,
  dlq_offset    bigint      NOT NULL,
  -- the Kafka record's timestamp (CreateTime, set by the publisher)
  record_time   timestamptz NOT NULL,
  key           text,
  value         bytea,
  headers       jsonb       NOT NULL,
  tenant_id     text        NOT NULL,
  code          text        NOT NULL,
  stage         text        NOT NULL,
  source_topic  text        NOT NULL,
  PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dlq_records_tenant ON dlq_records (dlq_topic, tenant_id, record_time);

-- Down Migration
DROP TABLE dlq_records;
DROP TABLE outbox;
