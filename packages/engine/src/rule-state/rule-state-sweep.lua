-- Deletes the state of one rule state key that no engine has marked live since ARGV[2] (ms): the
-- keys the rule owns (pending decisions, holds) and the group keys they kept without a TTL.
-- At most ARGV[3] groups per call; returns { keys deleted, done (1/0) }. Keys share one hash tag.
-- KEYS[1] rs:live (state key -> ms last marked live). ARGV[1] the prefix .. 'rs:' .. state key.
local live = tonumber(redis.call('HGET', KEYS[1], ARGV[4]))
if live and live >= tonumber(ARGV[2]) then return { 0, 1 } end
local rk, limit = ARGV[1], tonumber(ARGV[3])
local deleted = 0
local function del(key)
  deleted = deleted + redis.call('DEL', key)
end
-- Absence: the groups it holds.
local held = redis.call('ZRANGE', rk .. ':hold', 0, limit - 1)
for _, group in ipairs(held) do
  del(rk .. ':' .. group .. ':e')
  del(rk .. ':' .. group .. ':f')
  redis.call('ZREM', rk .. ':hold', group)
end
-- newValue: the groups (and group|value pairs) its pending candidates keep.
local pending = redis.call('HSCAN', rk .. ':pg', 0, 'COUNT', limit)[2]
for i = 1, #pending, 2 do
  local field = pending[i]
  local bar = string.find(field, '|', 1, true)
  if bar then
    del(rk .. ':' .. string.sub(field, 1, bar - 1) .. ':o:' .. string.sub(field, bar + 1))
  else
    for _, part in ipairs({ ':h', ':v', ':f' }) do del(rk .. ':' .. field .. part) end
  end
  redis.call('HDEL', rk .. ':pg', field)
end
if #held >= limit or redis.call('HLEN', rk .. ':pg') > 0 then return { deleted, 0 } end
for _, part in ipairs({ ':dl', ':an', ':hold', ':nd', ':nc', ':pg' }) do del(rk .. part) end
redis.call('HDEL', KEYS[1], ARGV[4])
return { deleted, 1 }
