-- GET /v1/sales/{sale_id}/orders: a shopper's orders in a sale, newest first, a page at a time.
-- Keyset pagination seeks (created_at, id) below the last order of the page before; this index
-- answers both the seek and the order, so a page costs the same however many orders come before it.
CREATE INDEX orders_by_shopper_recent ON orders (sale_id, shopper_id, created_at DESC, id DESC);
