-- Up Migration

-- One row per record needing attention: the same record (tenant, entity, ID) at the same
-- version failing for the same reason is ONE DLQ entry however often polling,
-- reconciliation or a backfill re-reads it; a later version or another reason is a new
-- one. Written in the same transaction as the consumers' offsets (or, at the edge, before
-- the DLQ record is acknowledged), and the DLQ topic record is only produced for a row
-- this transaction inserted. A step toward the transactional outbox (issue 14): the row
-- is the durable fact, the topic record its publication.
CREATE TABLE dlq_entries (
  tenant_id        text        NOT NULL,
  -- topic kind (appointments, contacts, activities), 'webhook' (edge) or 'record' (undecodable: ID is topic:partition:offset)
  entity           text        NOT NULL,
  record_id        text        NOT NULL,
  -- Acme's version; 0 when unknown (undecodable record, malformed webhook)
  version          bigint      NOT NULL,
  -- md5 of stage, code and message: "the same reason"
  reason           text        NOT NULL,
  stage            text        NOT NULL,
  code             text        NOT NULL,
  message          text        NOT NULL,
  source_topic     text,
  source_partition integer,
  source_offset    bigint,
  -- who moved it here: a consumer group, 'edge', or the operator of `acme-sync dlq skip`
  recorded_by      text        NOT NULL,
  note             text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entity, record_id, version, reason)
);
CREATE INDEX dlq_entries_created ON dlq_entries (created_at);

-- `acme-sync dlq skip`: records an operator moved to the DLQ by position. Every consumer
-- group of the topic sends the record to the DLQ (code OPERATOR_SKIPPED) when it reaches
-- it, instead of handing it to its flow; the records around it are processed as usual.
CREATE TABLE dlq_skips (
  topic      text        NOT NULL,
  partition  integer     NOT NULL,
  "offset"   bigint      NOT NULL,
  operator   text        NOT NULL,
  reason     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);

-- Down Migration
DROP TABLE dlq_skips;
DROP TABLE dlq_entries;
