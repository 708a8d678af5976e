-- threshold: a group's alert for suppress span b fires when some event time t' with
-- floor(t' / suppress) == b ends a window (t' - within, t'] holding at least `count` events
-- (or distinct values). Each trigger is a monotone function of the set of events, so the set
-- of fired spans does not depend on the order batches are applied in.
-- An event id counts once per group: the events zset is keyed by event id (ZADD NX).
--
-- State per rule and group: base:z events (member: id, or "len:value:id" when distinct; score:
-- time), base:d the latest time of each distinct value, base:f the spans that fired.
-- Params: count, within, suppress, lateness, distinct, ttl.
do
  local newest = {}   -- per group base: newest event time, read once per batch
  local touched = {}  -- group base -> rule
  local latest = {}   -- group base -> newest event time accepted in this call

  local function valueOf(member)
    local sep = string.find(member, ':', 1, true)
    local len = tonumber(string.sub(member, 1, sep - 1))
    return string.sub(member, sep + 1, sep + len), string.sub(member, sep + len + 2)
  end

  local function countWindow(base, rule, tEnd, inOrder)
    local lower = '(' .. (tEnd - rule.within)
    if not rule.distinct then
      return redis.call('ZCOUNT', base .. ':z', lower, tEnd)
    end
    if inOrder then
      -- every value's latest time is <= tEnd here, so "latest time in window" == "occurs in window"
      return redis.call('ZCOUNT', base .. ':d', lower, '+inf')
    end
    local seen, n = {}, 0
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', base .. ':z', lower, tEnd)) do
      local value = valueOf(member)
      if not seen[value] then seen[value] = true; n = n + 1 end
    end
    return n
  end

  local firedSpans = {} -- group base -> span -> whether it fired, read once per call

  local function hasFired(base, span)
    local spans = firedSpans[base]
    if spans == nil then spans = {}; firedSpans[base] = spans end
    local known = spans[span]
    if known == nil then
      known = redis.call('ZSCORE', base .. ':f', span) ~= false
      spans[span] = known
    end
    return known
  end

  -- Fires span floor(tEnd / suppress) for the window ending at tEnd unless it fired already.
  local function tryFire(u, base, rule, tEnd, inOrder)
    local span = math.floor(tEnd / rule.suppress)
    local spans = firedSpans[base]
    if spans and spans[span] then return end
    local count = countWindow(base, rule, tEnd, inOrder)
    if count < rule.count or hasFired(base, span) then return end
    local members = redis.call('ZRANGEBYSCORE', base .. ':z', '(' .. (tEnd - rule.within), tEnd, 'WITHSCORES', 'LIMIT', 0, p.maxIds)
    local ids = {}
    for j = 1, #members, 2 do
      if rule.distinct then
        local _, id = valueOf(members[j])
        ids[#ids + 1] = id
      else
        ids[#ids + 1] = members[j]
      end
    end
    fired[#fired + 1] = { r = u.r, e = u.e, g = u.g, b = span, ws = tonumber(members[2]) or tEnd, we = tEnd, c = count, ids = ids }
    recordFired(base, rule, span, newest[base])
    firedSpans[base][span] = true
  end

  -- At most `count` of the group's events (or values) lie in any window that holds t and ends at
  -- or after it: all of them are in (t - within, +inf). Below the count, t completes no window
  -- whatever the order, and nothing more needs reading: the common case, one ZCOUNT.
  local function cannotComplete(base, rule, t)
    local key = base .. (rule.distinct and ':d' or ':z')
    return redis.call('ZCOUNT', key, '(' .. (t - rule.within), '+inf') < rule.count
  end

  kinds.threshold = {
    update = function(rule, u)
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local base = stateBase(rule, u.g)
      local t = u.t
      local member = eventIds[u.e]
      if rule.distinct then member = #u.v .. ':' .. u.v .. ':' .. member end
      if redis.call('ZADD', base .. ':z', 'NX', t, member) == 0 then
        duplicate[u.e] = true
        return
      end
      if rule.distinct then redis.call('ZADD', base .. ':d', 'GT', t, u.v) end
      touched[base] = rule
      local maxT = newest[base] -- the group's newest before t, when read earlier in this call
      if maxT ~= nil and t > maxT then newest[base] = t end
      if not (latest[base] and latest[base] >= t) then latest[base] = t end
      if cannotComplete(base, rule, t) then return end
      -- Read now, after the ZADD: t is the newest unless it arrived out of order.
      if maxT == nil then maxT = newestIn(newest, base) end
      if t >= maxT then
        newest[base] = t
        tryFire(u, base, rule, t, true)
      else
        -- A late event can complete windows ending at any later event time below t + within.
        local entries = redis.call('ZRANGEBYSCORE', base .. ':z', t, '(' .. (t + rule.within), 'WITHSCORES')
        local lastTime = nil
        for j = 2, #entries, 2 do
          local tEnd = tonumber(entries[j])
          if tEnd ~= lastTime then
            lastTime = tEnd
            tryFire(u, base, rule, tEnd, false)
          end
        end
      end
    end,

    -- Forget what no event still to come can reach any more: entries older than keepFrom - within,
    -- from the group's newest time if read, else the newest accepted here (lower: keeps more).
    finish = function()
      for base, rule in pairs(touched) do
        local horizon = keepFrom(newest[base] or latest[base], rule.lateness) - rule.within
        trimBelow(base .. ':z', horizon)
        redis.call('PEXPIRE', base .. ':z', rule.ttl)
        if rule.distinct then
          trimBelow(base .. ':d', horizon)
          redis.call('PEXPIRE', base .. ':d', rule.ttl)
        end
      end
    end,
  }
end
