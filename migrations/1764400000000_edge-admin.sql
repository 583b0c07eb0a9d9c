-- Up Migration

-- Incremental polling: per tenant and Acme object type, the updated_at up to which every
-- record has been published and acknowledged by Kafka (lists are inclusive of it, so the
-- boundary record is re-read: duplicates are fine, gaps are not).
CREATE TABLE poll_cursors (
  tenant_id           text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_type         text        NOT NULL CHECK (object_type IN ('user', 'contact', 'appointment', 'activity')),
  updated_since       timestamptz,
  polled_at           timestamptz,
  reconciled_at       timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, object_type)
);

-- Admin API bearer tokens, stored as SHA-256 of the token; tenant_id NULL = operator (all tenants).
CREATE TABLE admin_tokens (
  id            text        PRIMARY KEY,
  token_sha256  text        NOT NULL UNIQUE,
  tenant_id     text        REFERENCES tenants (id) ON DELETE CASCADE,
  description   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

-- OAuth connect flow: single-use `state` values (stored hashed) with an expiry.
CREATE TABLE oauth_states (
  state_sha256  text        PRIMARY KEY,
  tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  redirect_uri  text        NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Backfill runs and their progress, readable by the admin API from any process.
CREATE TABLE backfill_runs (
  id           text        PRIMARY KEY,
  tenant_id    text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  since        timestamptz,
  status       text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  pages        integer     NOT NULL DEFAULT 0,
  records      integer     NOT NULL DEFAULT 0,
  by_type      jsonb       NOT NULL DEFAULT '{}',
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX backfill_runs_tenant ON backfill_runs (tenant_id, started_at DESC);

-- Down Migration
DROP TABLE backfill_runs;
DROP TABLE oauth_states;
DROP TABLE admin_tokens;
DROP TABLE poll_cursors;
