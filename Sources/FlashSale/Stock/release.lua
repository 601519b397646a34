#!lua flags=allow-oom
-- A cancelled or expired order's units go back, once per order (the marker is the guard). A
-- stock key Redis lost is not recreated: re-priming restores it from PostgreSQL.
-- KEYS[1] released marker  KEYS[2] stock  KEYS[3] bought count  KEYS[4] the SKU's change count
-- ARGV[1] quantity  ARGV[2] marker lifetime (s)
-- Answers 1 when the units went back, 0 when they already had.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('INCR', KEYS[4])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], ARGV[1]) end
if redis.call('DECRBY', KEYS[3], ARGV[1]) <= 0 then redis.call('DEL', KEYS[3]) end
return 1
