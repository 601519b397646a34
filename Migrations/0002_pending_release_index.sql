-- `flashsale reconcile` reads a sale's Redis releases still to run on every batch of SKUs it
-- compares; without this index that is a scan of every job ever written.
CREATE INDEX jobs_pending_release ON jobs ((payload->>'sale_id'))
    WHERE kind = 'redis_release' AND status IN ('pending', 'running');
