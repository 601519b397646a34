-- The worker: leased jobs know their holder, dead jobs are listed by age, orders keep the shopper's
-- e-mail address (from the token at purchase) for the notifications about them.

ALTER TABLE orders ADD COLUMN email text;

-- Who holds a running job's lease. A worker finishes, retries or hands back only jobs it still
-- holds, so one whose lease ran out (and was leased again elsewhere) cannot undo the next holder's work.
ALTER TABLE jobs ADD COLUMN lease_owner text;

-- `flashsale jobs` lists dead jobs; the worker prunes finished ones.
CREATE INDEX jobs_dead ON jobs (updated_at) WHERE status = 'dead';
CREATE INDEX jobs_done ON jobs (updated_at) WHERE status = 'done';

-- Each worker lane leases one kind: due jobs by kind, oldest first, whatever the other kinds hold.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (kind, run_at) WHERE status = 'pending';
