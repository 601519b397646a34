-- Pay takes the order before it asks the gateway: reserved → paying in a short transaction that
-- also writes the payment as 'pending', the charge outside any transaction, then paying → paid (or
-- back to reserved after a decline) with the payment's final answer. A `paying` order still holds
-- its units, and no cancel or expiry can take it while the gateway is asked.

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('reserved', 'paying', 'paid', 'cancelled', 'expired'));

-- A payment exists from before the charge: 'pending' has no answer yet; a final one keeps the
-- answer replayed for its idempotency key.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('pending', 'succeeded', 'declined'));
ALTER TABLE payments ALTER COLUMN response_status DROP NOT NULL;
ALTER TABLE payments ALTER COLUMN response_body DROP NOT NULL;
ALTER TABLE payments ADD CONSTRAINT payments_answer_once_final
    CHECK ((status = 'pending') = (response_status IS NULL) AND (status = 'pending') = (response_body IS NULL));

-- The key the gateway deduplicates the charge by, scoped to (order, client key): a charge retried
-- after a crash is the same charge, and one client key used on two orders is two charges.
ALTER TABLE payments ADD COLUMN gateway_key text;
UPDATE payments SET gateway_key = 'order-' || order_id || '-' || idempotency_key;
ALTER TABLE payments ALTER COLUMN gateway_key SET NOT NULL;
ALTER TABLE payments ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Invariant 6 in the schema: an order has at most one charge in flight, the one its `paying` stands for.
CREATE UNIQUE INDEX payments_one_pending_per_order ON payments (order_id) WHERE status = 'pending';
