#!lua flags=allow-oom
-- The order did not commit: give back the units and the shopper's count, once. Removing the
-- ledger entry is the guard, so this and the worker's sweep cannot both give them back.
-- KEYS[1] idempotency record  KEYS[2] reservation ledger  KEYS[3] stock  KEYS[4] bought count
-- KEYS[5] the SKU's change count
-- ARGV[1] ledger member  ARGV[2] quantity
-- Answers 1 when the units went back, 0 when they already had.
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[5])
redis.call('INCRBY', KEYS[3], ARGV[2])
if redis.call('DECRBY', KEYS[4], ARGV[2]) <= 0 then redis.call('DEL', KEYS[4]) end
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', 'unavailable')
return 1
