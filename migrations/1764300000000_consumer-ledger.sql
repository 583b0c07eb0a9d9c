-- Up Migration

-- Per consumer group and tenant, what the consumers did with every record they
-- received: received = written + dlq + skipped (stale or duplicate versions). Updated in
-- the same transaction as the offsets, so it balances after any crash. No CHECK: a flow
-- that miscounts is logged and counted in a metric rather than stopping consumption.
CREATE TABLE consumer_ledger (
  group_id   text        NOT NULL,
  tenant_id  text        NOT NULL,
  received   bigint      NOT NULL DEFAULT 0,
  written    bigint      NOT NULL DEFAULT 0,
  dlq        bigint      NOT NULL DEFAULT 0,
  skipped    bigint      NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, tenant_id)
);

-- The calendar title is rendered from a template with the customer's name and company,
-- so a contact change re-renders it: keep Acme's own title and the company.
ALTER TABLE calendar_events ADD COLUMN acme_title text;
ALTER TABLE calendar_events ADD COLUMN customer_company text;
-- A delete that arrives before (or without) the appointment's data is kept as a
-- cancelled placeholder without a start, so an older version arriving later cannot
-- bring the appointment back. Placeholders are never published.
ALTER TABLE calendar_events ALTER COLUMN starts_at DROP NOT NULL;

-- Down Migration
DELETE FROM calendar_events WHERE starts_at IS NULL;
ALTER TABLE calendar_events ALTER COLUMN starts_at SET NOT NULL;
ALTER TABLE calendar_events DROP COLUMN customer_company;
ALTER TABLE calendar_events DROP COLUMN acme_title;
DROP TABLE consumer_ledger;
