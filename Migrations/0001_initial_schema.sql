-- The schema of record. Redis holds a fast copy of stock; PostgreSQL decides.

CREATE TABLE sales (
    id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    payment_window  interval NOT NULL DEFAULT interval '10 minutes' CHECK (payment_window > interval '0'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

CREATE TABLE inventory (
    sale_id            text NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
    sku                text NOT NULL CHECK (sku ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name               text NOT NULL,
    price_cents        bigint NOT NULL CHECK (price_cents >= 0),
    initial_stock      integer NOT NULL CHECK (initial_stock >= 0),
    -- Invariant 1: never below zero, whatever the application does.
    available          integer NOT NULL CHECK (available >= 0),
    per_shopper_limit  integer NOT NULL CHECK (per_shopper_limit > 0),
    -- Optimistic lock: every change of `available` bumps it.
    version            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sale_id, sku),
    CHECK (available <= initial_stock)
);

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    sale_id         text NOT NULL,
    sku             text NOT NULL,
    shopper_id      text NOT NULL,
    quantity        integer NOT NULL CHECK (quantity > 0),
    amount_cents    bigint NOT NULL CHECK (amount_cents >= 0),
    status          text NOT NULL CHECK (status IN ('reserved', 'paid', 'cancelled', 'expired')),
    -- Invariant 2: one order per checkout token.
    checkout_token  text NOT NULL UNIQUE,
    pay_by          timestamptz NOT NULL,
    version         bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (sale_id, sku) REFERENCES inventory (sale_id, sku)
);
CREATE INDEX orders_by_shopper ON orders (sale_id, shopper_id, sku);
CREATE INDEX orders_reserved_by_pay_by ON orders (pay_by) WHERE status = 'reserved';

CREATE TABLE payments (
    id               bigserial PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders (id),
    idempotency_key  text NOT NULL,
    payment_method   text NOT NULL,
    amount_cents     bigint NOT NULL CHECK (amount_cents >= 0),
    status           text NOT NULL CHECK (status IN ('succeeded', 'declined')),
    -- The answer given the first time, replayed for a repeated idempotency key.
    response_status  integer NOT NULL,
    response_body    bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, idempotency_key)
);

-- The outbox: jobs are written in the same transaction as the state change they follow from,
-- and leased by workers with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL,
    -- Stable per (order, event), so a job is enqueued once and its side effect can be deduplicated.
    dedupe_key       text UNIQUE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'dead')),
    run_at           timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    leased_until     timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_leased ON jobs (leased_until) WHERE status = 'running';
