-- Up Migration

-- Two-way calendar sync (issue 15): what the write-back consumer did per Acme appointment.
-- Written in the same transaction as the consumed offsets (calendar.changes.v1).
--
-- chain_base / acme_version recognise our own writes: every Acme version in
-- (chain_base, acme_version] was produced (or deliberately overridden) by a write-back,
-- so a calendar change based on any version in [chain_base, acme_version] is sent with
-- If-Match acme_version instead of its own, older base (the calendar has simply not seen
-- the echo of our write yet): no false conflict, and the echo is never written back.
CREATE TABLE writeback_state (
  tenant_id             text        NOT NULL,
  acme_id               text        NOT NULL,
  last_change_id        text        NOT NULL,
  last_calendar_version bigint      NOT NULL,
  chain_base            bigint,
  acme_version          bigint,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_id)
);

-- One row per calendar change handled (not for DLQ'd ones: a replay must run again).
CREATE TABLE writeback_changes (
  tenant_id        text        NOT NULL,
  change_id        text        NOT NULL,
  acme_id          text        NOT NULL,
  calendar_version bigint      NOT NULL,
  outcome          text        NOT NULL CHECK (outcome IN ('applied', 'conflict', 'echo_suppressed', 'duplicate', 'stale', 'not_synced')),
  acme_version     bigint,
  idempotency_key  text,
  changed_at       timestamptz NOT NULL,
  acked_at         timestamptz,
  processed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, change_id)
);
CREATE INDEX writeback_changes_by_acme ON writeback_changes (tenant_id, acme_id, acme_version);

-- The conflict record the calendar shows its user: a change met a newer Acme version
-- (412) or a deleted appointment, and the tenant's policy picked a winner.
CREATE TABLE writeback_conflicts (
  id                  bigserial   PRIMARY KEY,
  tenant_id           text        NOT NULL,
  acme_id             text        NOT NULL,
  change_id           text        NOT NULL,
  policy              text        NOT NULL CHECK (policy IN ('acme-wins', 'calendar-wins', 'newest-wins')),
  winner              text        NOT NULL CHECK (winner IN ('acme', 'calendar')),
  base_acme_version   bigint,
  acme_version        bigint      NOT NULL,
  final_acme_version  bigint      NOT NULL,
  calendar_changed_at timestamptz NOT NULL,
  acme_updated_at     timestamptz,
  fields              text[]      NOT NULL,
  detected_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, change_id)
);
CREATE INDEX writeback_conflicts_by_acme ON writeback_conflicts (tenant_id, acme_id, detected_at);

-- Down Migration
DROP TABLE writeback_conflicts;
DROP TABLE writeback_changes;
DROP TABLE writeback_state;
