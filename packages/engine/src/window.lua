-- Evaluates one batch of window updates atomically (one round trip per batch).
--
-- KEYS[1]            batch result key: a retried batch returns its first result unchanged
-- KEYS[2 .. 1+S]     one "seen" key per event with match-rule hits (match rules alert once per event id)
-- KEYS[...]          per group: events zset, fired-buckets zset, and (distinct rules) latest-time-per-value zset
-- ARGV[1]            JSON payload, see window-store.ts
--
-- Window semantics (DESIGN.md): a group's alert for suppress bucket b fires when some event time t'
-- with floor(t' / suppress) == b ends a window (t' - within, t'] holding at least `count` events
-- (or distinct values). Each trigger is a monotone function of the set of events, so the set of
-- fired buckets does not depend on arrival order for events that arrive within the lateness.
-- An event id counts once per group: the events zset is keyed by event id (ZADD NX).

local cached = redis.call('GET', KEYS[1])
if cached then return cached end

local p = cjson.decode(ARGV[1])
local rules, groups, updates, matches, eventIds = p.rules, p.groups, p.updates, p.matches, p.eventIds

local duplicateEvent = {}
local seenNew = {}
for i, ei in ipairs(p.seenEvents) do
  if redis.call('SET', KEYS[1 + i], '1', 'NX', 'PX', p.seenTtl) then
    seenNew[ei] = true
  else
    duplicateEvent[ei] = true
  end
end

local function valueOf(member)
  local sep = string.find(member, ':', 1, true)
  local len = tonumber(string.sub(member, 1, sep - 1))
  return string.sub(member, sep + 1, sep + len), string.sub(member, sep + len + 2)
end

local function countWindow(g, rule, tEnd, inOrder)
  local lower = '(' .. (tEnd - rule.within)
  if not rule.distinct then
    return redis.call('ZCOUNT', KEYS[g.z], lower, tEnd)
  end
  if inOrder then
    -- every value's latest time is <= tEnd here, so "latest time in window" == "occurs in window"
    return redis.call('ZCOUNT', KEYS[g.d], lower, '+inf')
  end
  local seen, n = {}, 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g.z], lower, tEnd)) do
    local value = valueOf(member)
    if not seen[value] then seen[value] = true; n = n + 1 end
  end
  return n
end

local fired, late = {}, {}
local newest = {}   -- per group: newest event time, read once per batch
local touched = {}

local function fire(ei, gi, g, rule, bucket, tEnd, count)
  local lower = '(' .. (tEnd - rule.within)
  local members = redis.call('ZRANGEBYSCORE', KEYS[g.z], lower, tEnd, 'WITHSCORES', 'LIMIT', 0, p.maxEventIds)
  local ids = {}
  for j = 1, #members, 2 do
    if rule.distinct then
      local _, id = valueOf(members[j])
      ids[#ids + 1] = id
    else
      ids[#ids + 1] = members[j]
    end
  end
  local tStart = tonumber(members[2]) or tEnd
  fired[#fired + 1] = { ei, gi, bucket, tEnd, count, tStart, ids }
  -- Fired buckets are kept only while an accepted event could still fall into them.
  redis.call('ZADD', KEYS[g.f], bucket, bucket)
  redis.call('ZREMRANGEBYSCORE', KEYS[g.f], '-inf', '(' .. math.floor((newest[gi] - rule.lateness) / rule.suppress))
  redis.call('PEXPIRE', KEYS[g.f], rule.ttl)
end

local function tryFire(ei, gi, g, rule, tEnd, inOrder)
  local bucket = math.floor(tEnd / rule.suppress)
  if redis.call('ZSCORE', KEYS[g.f], bucket) then return end
  local count = countWindow(g, rule, tEnd, inOrder)
  if count >= rule.count then fire(ei, gi, g, rule, bucket, tEnd, count) end
end

for ui = 1, #updates do
  local u = updates[ui]
  local ei, gi, t, value = u[1], u[2], u[3], u[4]
  local g = groups[gi]
  local rule = rules[g.r]
  local maxT = newest[gi]
  if maxT == nil then
    local top = redis.call('ZRANGE', KEYS[g.z], -1, -1, 'WITHSCORES')
    maxT = tonumber(top[2]) or false
    newest[gi] = maxT
  end
  if maxT and t < maxT - rule.lateness then
    late[#late + 1] = { ei, gi }
  else
    local member = eventIds[ei]
    if rule.distinct then member = #value .. ':' .. value .. ':' .. member end
    if redis.call('ZADD', KEYS[g.z], 'NX', t, member) == 0 then
      duplicateEvent[ei] = true
    else
      if rule.distinct then redis.call('ZADD', KEYS[g.d], 'GT', t, value) end
      if not maxT or t >= maxT then
        newest[gi] = t
        tryFire(ei, gi, g, rule, t, true)
      else
        -- A late event can complete windows ending at any later event time below t + within.
        local entries = redis.call('ZRANGEBYSCORE', KEYS[g.z], t, '(' .. (t + rule.within), 'WITHSCORES')
        local lastTime = nil
        for j = 2, #entries, 2 do
          local tEnd = tonumber(entries[j])
          if tEnd ~= lastTime then
            lastTime = tEnd
            tryFire(ei, gi, g, rule, tEnd, false)
          end
        end
      end
      touched[gi] = true
    end
  end
end

local newMatches = {}
for _, m in ipairs(matches) do
  if seenNew[m[1]] then newMatches[#newMatches + 1] = m end
end

-- Forget what no accepted event can reach any more: entries older than newest - lateness - within.
for gi in pairs(touched) do
  local g = groups[gi]
  local rule = rules[g.r]
  local horizon = '(' .. (newest[gi] - rule.lateness - rule.within)
  redis.call('ZREMRANGEBYSCORE', KEYS[g.z], '-inf', horizon)
  redis.call('PEXPIRE', KEYS[g.z], rule.ttl)
  if rule.distinct then
    redis.call('ZREMRANGEBYSCORE', KEYS[g.d], '-inf', horizon)
    redis.call('PEXPIRE', KEYS[g.d], rule.ttl)
  end
end

local duplicates = 0
for _ in pairs(duplicateEvent) do duplicates = duplicates + 1 end

local result = cjson.encode({ fired = fired, late = late, matches = newMatches, duplicates = duplicates })
redis.call('SET', KEYS[1], result, 'PX', p.batchTtl)
return result
