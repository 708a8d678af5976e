-- Records one mark of a source's progress (a watermark job: a pull step's batches are all
-- applied) and applies marks in seq order only: mark k waits until every mark below k is
-- applied, so a source's progress never overtakes a batch still to be applied, whatever order
-- replicas finish batches and marks in. Monotone; a seq already applied is ignored.
--
-- Keys (all under the prefix's hash tag): src:seq (source -> last seq applied), src:d (source ->
-- newest event time delivered up to it, '-inf' before any), src:b (source -> bound),
-- src:pending:<source> (seq -> JSON mark, waiting for a lower one), src:at (source -> wall-clock
-- ms when its watermark last moved up, or when it was first heard of: "source blind" alerts),
-- src:r (source -> JSON { seq, at }: a reset waiting to be applied caps the source's floor at
-- `at` from the moment it is made, see `vigil sources reset`).
-- A reset mark (`reset = at`, ms; the earliest time for "from the beginning") is the one mark that
-- moves a source back: delivered is forgotten and the bound set to `at`, so the decisions still
-- pending wait for what the source reads again.
-- Returns { seq, delivered?, bound? } as applied.
local function advanceSource(source, mark)
  local seqKey, dKey, bKey = p.prefix .. 'src:seq', p.prefix .. 'src:d', p.prefix .. 'src:b'
  local pendingKey = p.prefix .. 'src:pending:' .. source

  local atKey = p.prefix .. 'src:at'
  redis.call('HSETNX', dKey, source, '-inf')
  redis.call('HSETNX', atKey, source, nowMs())
  local applied = tonumber(redis.call('HGET', seqKey, source)) or 0
  if mark.seq > applied then
    redis.call('HSETNX', pendingKey, mark.seq, cjson.encode(mark))
    while true do
      local nextMark = redis.call('HGET', pendingKey, applied + 1)
      if not nextMark then break end
      local m = cjson.decode(nextMark)
      if m.reset ~= nil then
        redis.call('HSET', dKey, source, '-inf')
        redis.call('HSET', bKey, source, m.reset)
        redis.call('HSET', atKey, source, nowMs())
        local cap = redis.call('HGET', p.prefix .. 'src:r', source)
        if cap and cjson.decode(cap).seq <= applied + 1 then redis.call('HDEL', p.prefix .. 'src:r', source) end
      end
      if m.delivered then
        local d = tonumber(redis.call('HGET', dKey, source))
        if d == nil or m.delivered > d then
          redis.call('HSET', dKey, source, m.delivered)
          redis.call('HSET', atKey, source, nowMs())
        end
      end
      if m.bound then
        local b = tonumber(redis.call('HGET', bKey, source))
        if b == nil or m.bound > b then
          redis.call('HSET', bKey, source, m.bound)
          redis.call('HSET', atKey, source, nowMs())
        end
      end
      redis.call('HDEL', pendingKey, applied + 1)
      applied = applied + 1
    end
    redis.call('HSET', seqKey, source, applied)
  end

  local function finite(value)
    local n = tonumber(value)
    if n and n > -math.huge and n < math.huge then return n end
    return nil
  end
  return {
    seq = applied,
    delivered = finite(redis.call('HGET', dKey, source)),
    bound = finite(redis.call('HGET', bKey, source)),
  }
end
