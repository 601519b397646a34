-- The per-shopper limit in the stock of record (invariant 3). Redis' bought counts turn most
-- shoppers away before PostgreSQL, but they are only a fast copy: after Redis lost its data, or
-- whenever the two disagree, this row is what stops a shopper buying the limit again.
--
-- The order batch adds each order's units here in the same statement that deducts `available`,
-- and a cancel or expiry takes them off in the transaction that gives the stock back. The limit is
-- copied into the row (a CHECK cannot read `inventory`) and refreshed by every write, so an
-- operator's re-seed with a new limit applies from the shopper's next order.
CREATE TABLE shopper_units (
    sale_id     text NOT NULL,
    sku         text NOT NULL,
    shopper_id  text NOT NULL,
    units       integer NOT NULL,
    unit_limit  integer NOT NULL,
    PRIMARY KEY (sale_id, sku, shopper_id),
    FOREIGN KEY (sale_id, sku) REFERENCES inventory (sale_id, sku) ON DELETE CASCADE,
    CONSTRAINT shopper_units_never_negative CHECK (units >= 0),
    CONSTRAINT shopper_units_within_limit CHECK (units <= unit_limit)
);

-- What the orders already hold. A shopper already past a limit (bought before this table) keeps
-- what they have and can buy no more.
INSERT INTO shopper_units (sale_id, sku, shopper_id, units, unit_limit)
SELECT o.sale_id, o.sku, o.shopper_id, sum(o.quantity), greatest(i.per_shopper_limit, sum(o.quantity))
FROM orders o JOIN inventory i ON i.sale_id = o.sale_id AND i.sku = o.sku
WHERE o.status IN ('reserved', 'paying', 'paid')
GROUP BY o.sale_id, o.sku, o.shopper_id, i.per_shopper_limit;
