-- Up Migration

-- Onboarding at scale (issue 17): a backfill is first 'queued' (a cap on concurrent
-- backfills, BACKFILL_CONCURRENCY), then 'running' once it holds the tenant's history
-- lock. A queued or running run also tells the poller to leave the tenant's history
-- alone: incremental polling starts where the backfill ended.
ALTER TABLE backfill_runs DROP CONSTRAINT backfill_runs_status_check;
ALTER TABLE backfill_runs ADD CONSTRAINT backfill_runs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed'));
-- When the run left the queue and began reading (NULL while queued).
ALTER TABLE backfill_runs ADD COLUMN running_at timestamptz;
CREATE INDEX backfill_runs_waiting ON backfill_runs (started_at, id) WHERE status IN ('queued', 'running');

-- Down Migration
DROP INDEX backfill_runs_waiting;
ALTER TABLE backfill_runs DROP COLUMN running_at;
UPDATE backfill_runs SET status = 'failed', error = 'queued when the migration was reverted' WHERE status = 'queued';
ALTER TABLE backfill_runs DROP CONSTRAINT backfill_runs_status_check;
ALTER TABLE backfill_runs ADD CONSTRAINT backfill_runs_status_check CHECK (status IN ('running', 'succeeded', 'failed'));
