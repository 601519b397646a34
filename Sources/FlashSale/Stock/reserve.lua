#!lua
-- A purchase attempt (StockScripts.Reserve names the keys and arguments in Swift).
-- KEYS[1] token            KEYS[2] idempotency record   KEYS[3] shopper's bought count
-- KEYS[4] stock            KEYS[5] reservation ledger   KEYS[6] the SKU's change count
-- KEYS[7] the SKU's repair fence
-- ARGV[1] shopper  ARGV[2] quantity  ARGV[3] per-shopper limit  ARGV[4] request fingerprint
-- ARGV[5] ledger member  ARGV[6] record lifetime (s)  ARGV[7] sku
-- Answers {'won', stock left, change count}, {'sold_out', stock left, change count},
-- {'purchase_limit'}, {'in_progress'}, {'invalid_token'}, {'key_reused'}, {'not_stocked'} or
-- {'replay', outcome, body}.
local owner = redis.call('GET', KEYS[1])
if not owner then
  local record = redis.call('HMGET', KEYS[2], 'shopper', 'fingerprint', 'state', 'outcome', 'body')
  if not record[1] or record[1] ~= ARGV[1] then return {'invalid_token'} end
  if record[2] ~= ARGV[4] then return {'key_reused'} end
  if record[3] == 'pending' then return {'in_progress'} end
  return {'replay', record[4], record[5] or ''}
end
if owner ~= ARGV[1] then return {'invalid_token'} end
local stockAndFence = redis.call('MGET', KEYS[4], KEYS[7])
local stock = stockAndFence[1]
if not stock then return {'not_stocked'} end
local quantity = tonumber(ARGV[2])
local outcome = nil
if tonumber(redis.call('GET', KEYS[3]) or '0') + quantity > tonumber(ARGV[3]) then
  outcome = 'purchase_limit'
elseif tonumber(stock) < quantity then
  outcome = 'sold_out'
end
if outcome then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'shopper', ARGV[1], 'fingerprint', ARGV[4], 'state', 'done', 'outcome', outcome)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  if outcome == 'sold_out' then
    return {outcome, tonumber(stock), tonumber(redis.call('GET', KEYS[6]) or '0')}
  end
  return {outcome}
end
if stockAndFence[2] then return {'not_stocked'} end
redis.call('DEL', KEYS[1])
local remaining = redis.call('DECRBY', KEYS[4], quantity)
redis.call('INCRBY', KEYS[3], quantity)
local version = redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[5], redis.call('TIME')[1], ARGV[5])
redis.call('HSET', KEYS[2], 'shopper', ARGV[1], 'fingerprint', ARGV[4], 'state', 'pending',
  'sku', ARGV[7], 'quantity', quantity)
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {'won', remaining, version}
