-- Up Migration

-- Which DLQ records have been replayed, so replaying the same selection again is a no-op.
CREATE TABLE dlq_replays (
  dlq_topic     text        NOT NULL,
  dlq_partition integer     NOT NULL,
  dlq_offset    bigint      NOT NULL,
  target_topic  text        NOT NULL,
  tenant_id     text,
  replayed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);

-- Down Migration
DROP TABLE dlq_replays;
