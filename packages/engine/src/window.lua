-- Evaluates one batch of window updates atomically (one round trip per batch).
--
-- KEYS[1]            batch result key: a retried batch returns its first result unchanged
-- KEYS[2 .. 1+E]     one "seen" key per event: the same event id counts once, however often delivered
-- KEYS[...]          per group: events zset, fired-buckets zset, and (distinct rules) latest-time-per-value zset
-- ARGV[1]            JSON payload, see window-store.ts (WindowBatchPayload)
--
-- Window semantics (DESIGN.md): a group's alert for suppress bucket b fires when some event time t'
-- with floor(t' / suppress) == b ends a window (t' - within, t'] holding at least `count` events
-- (or distinct values). Every such trigger is a monotone function of the event set, so the set of
-- fired buckets does not depend on arrival order for events within the lateness.

local cached = redis.call('GET', KEYS[1])
if cached then return cached end

local p = cjson.decode(ARGV[1])
local rules, groups, updates, matches = p.rules, p.groups, p.updates, p.matches
local eventCount = p.eventCount

local isNew = {}
local duplicates = 0
for i = 1, eventCount do
  if redis.call('SET', KEYS[1 + i], '1', 'NX', 'PX', p.seenTtl) then
    isNew[i] = true
  else
    duplicates = duplicates + 1
  end
end

local function decodeMember(member, distinct)
  if not distinct then return member, nil end
  local sep = string.find(member, ':', 1, true)
  local len = tonumber(string.sub(member, 1, sep - 1))
  local value = string.sub(member, sep + 1, sep + len)
  return string.sub(member, sep + len + 2), value
end

local function countWindow(g, rule, tEnd, inOrder)
  local lower = '(' .. (tEnd - rule.within)
  if not rule.distinct then
    return redis.call('ZCOUNT', KEYS[g.z], lower, tEnd)
  end
  if inOrder then
    -- every value's latest time is <= tEnd, so "latest time in window" == "occurs in window"
    return redis.call('ZCOUNT', KEYS[g.d], lower, '+inf')
  end
  local seen, n = {}, 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g.z], lower, tEnd)) do
    local _, value = decodeMember(member, true)
    if not seen[value] then seen[value] = true; n = n + 1 end
  end
  return n
end

local fired, late, newMatches = {}, {}, {}
local maxLimit = p.maxEventIds

local function fire(ei, gi, g, rule, bucket, tEnd, count)
  redis.call('ZADD', KEYS[g.f], bucket, bucket)
  local lower = '(' .. (tEnd - rule.within)
  local members = redis.call('ZRANGEBYSCORE', KEYS[g.z], lower, tEnd, 'WITHSCORES', 'LIMIT', 0, maxLimit)
  local ids = {}
  for j = 1, #members, 2 do
    local id = decodeMember(members[j], rule.distinct)
    ids[#ids + 1] = id
  end
  local tStart = tonumber(members[2]) or tEnd
  fired[#fired + 1] = { ei, gi, bucket, tEnd, count, tStart, ids }
end

local function tryFire(ei, gi, g, rule, tEnd, inOrder)
  local bucket = math.floor(tEnd / rule.suppress)
  if redis.call('ZSCORE', KEYS[g.f], bucket) then return end
  local count = countWindow(g, rule, tEnd, inOrder)
  if count >= rule.count then fire(ei, gi, g, rule, bucket, tEnd, count) end
end

local touched = {}
for ui = 1, #updates do
  local u = updates[ui]
  local ei, gi, t, value = u[1], u[2], u[3], u[4]
  if isNew[ei] then
    local g = groups[gi]
    local rule = rules[g.r]
    local top = redis.call('ZRANGE', KEYS[g.z], -1, -1, 'WITHSCORES')
    local maxT = tonumber(top[2])
    if maxT and t < maxT - rule.lateness then
      late[#late + 1] = { ei, gi }
    else
      local member = p.eventIds[ei]
      if rule.distinct then
        member = #value .. ':' .. value .. ':' .. member
        redis.call('ZADD', KEYS[g.d], 'GT', t, value)
      end
      redis.call('ZADD', KEYS[g.z], 'NX', t, member)
      touched[gi] = true
      if not maxT or t >= maxT then
        tryFire(ei, gi, g, rule, t, true)
      else
        -- A late event can complete windows ending at any later event time below t + within.
        local lastTime = nil
        for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g.z], t, '(' .. (t + rule.within), 'WITHSCORES')) do
          local tEnd = tonumber(s)
          if tEnd and tEnd ~= lastTime then
            lastTime = tEnd
            tryFire(ei, gi, g, rule, tEnd, false)
          end
        end
      end
    end
  end
end

for mi = 1, #matches do
  local m = matches[mi]
  if isNew[m[1]] then newMatches[#newMatches + 1] = m end
end

-- Forget what no accepted event can reach any more: entries older than newest - lateness - within,
-- fired buckets older than newest - lateness.
for gi in pairs(touched) do
  local g = groups[gi]
  local rule = rules[g.r]
  local top = redis.call('ZRANGE', KEYS[g.z], -1, -1, 'WITHSCORES')
  local newest = tonumber(top[2])
  local horizon = newest - rule.lateness
  redis.call('ZREMRANGEBYSCORE', KEYS[g.z], '-inf', '(' .. (horizon - rule.within))
  redis.call('ZREMRANGEBYSCORE', KEYS[g.f], '-inf', '(' .. math.floor(horizon / rule.suppress))
  redis.call('PEXPIRE', KEYS[g.z], rule.ttl)
  redis.call('PEXPIRE', KEYS[g.f], rule.ttl)
  if rule.distinct then
    redis.call('ZREMRANGEBYSCORE', KEYS[g.d], '-inf', '(' .. (horizon - rule.within))
    redis.call('PEXPIRE', KEYS[g.d], rule.ttl)
  end
end

local result = cjson.encode({ fired = fired, late = late, matches = newMatches, duplicates = duplicates })
redis.call('SET', KEYS[1], result, 'PX', p.batchTtl)
return result
