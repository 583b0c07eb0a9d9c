-- Up Migration

-- The settings page lists a tenant's DLQ entries newest first, a page at a time, by keyset
-- (created_at and the primary key after the last row seen): this index answers every page
-- with an index range scan, whichever page it is (src/admin/activity-routes.ts).
CREATE INDEX dlq_entries_tenant_page ON dlq_entries (tenant_id, created_at, entity, record_id, version, reason);

-- Down Migration
DROP INDEX dlq_entries_tenant_page;
