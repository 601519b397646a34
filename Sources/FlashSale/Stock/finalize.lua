#!lua flags=allow-oom
-- After the order committed: keep its answer for replays, drop its ledger entry.
-- KEYS[1] idempotency record  KEYS[2] reservation ledger
-- ARGV[1] the answer's body   ARGV[2] ledger member
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', 'created', 'body', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
