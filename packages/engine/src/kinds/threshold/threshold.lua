-- threshold: a group's alert for suppress span b fires when some event time t' with
-- floor(t' / suppress) == b ends a window (t' - within, t'] holding at least `count` events
-- (or distinct values). Each trigger is a monotone function of the set of events, so the set
-- of fired spans does not depend on the order batches are applied in.
-- An event id counts once per group: the events zset is keyed by event id (ZADD NX).
--
-- Rules that count the same events (same `when`, groupBy, distinct field and lateness: the
-- `stream` param) share one event log per group, written once per event, so tiers of a
-- detection (5 in 5m, 20 in 1h) cost one write between them; each keeps its own fired spans.
-- State per stream and group: sbase:z events (member: id, or "len:value:id" when distinct;
-- score: time), sbase:d the latest time of each distinct value. Per rule and group: base:f the
-- spans that fired. Params: count, within, suppress, lateness, distinct, ttl, stream?.
do
  local newest = {}   -- stream base -> the group's newest event time, once read in this call
  local latest = {}   -- stream base -> newest event time accepted in this call
  local streams = {}  -- stream base -> { within, ttl, lateness, distinct } of the rules touching it
  local addedHere = {} -- stream base .. member -> true: written by a rule of the stream in this call
  local seenBy = {}   -- rule index .. stream base .. member -> true: counted by that rule in this call
  local firedSpans = {} -- rule base -> span -> whether it fired, read once per call

  local function valueOf(member)
    local sep = string.find(member, ':', 1, true)
    local len = tonumber(string.sub(member, 1, sep - 1))
    return string.sub(member, sep + 1, sep + len), string.sub(member, sep + len + 2)
  end

  local function countWindow(sbase, rule, tEnd, inOrder)
    local lower = '(' .. int(tEnd - rule.within)
    if not rule.distinct then
      return redis.call('ZCOUNT', sbase .. ':z', lower, int(tEnd))
    end
    if inOrder then
      -- every value's latest time is <= tEnd here, so "latest time in window" == "occurs in window"
      return redis.call('ZCOUNT', sbase .. ':d', lower, '+inf')
    end
    local seen, n = {}, 0
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', sbase .. ':z', lower, int(tEnd))) do
      local value = valueOf(member)
      if not seen[value] then seen[value] = true; n = n + 1 end
    end
    return n
  end

  local function hasFired(base, span)
    local spans = firedSpans[base]
    if spans == nil then spans = {}; firedSpans[base] = spans end
    local known = spans[span]
    if known == nil then
      known = redis.call('ZSCORE', base .. ':f', int(span)) ~= false
      spans[span] = known
    end
    return known
  end

  -- Fires span floor(tEnd / suppress) for the window ending at tEnd unless it fired already.
  local function tryFire(u, base, sbase, rule, tEnd, inOrder)
    local span = math.floor(tEnd / rule.suppress)
    local spans = firedSpans[base]
    if spans and spans[span] then return end
    local count = countWindow(sbase, rule, tEnd, inOrder)
    if count < rule.count or hasFired(base, span) then return end
    local members = redis.call('ZRANGEBYSCORE', sbase .. ':z', '(' .. int(tEnd - rule.within), int(tEnd), 'WITHSCORES', 'LIMIT', 0, p.maxIds)
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
    recordFired(base, rule, span, newest[sbase])
    firedSpans[base][span] = true
  end

  -- At most `count` of the group's events (or values) lie in any window that holds t and ends at
  -- or after it: all of them are in (t - within, +inf). Below the count, t completes no window
  -- whatever the order, and nothing more needs reading: the common case, one ZCOUNT.
  local function cannotComplete(sbase, rule, t)
    local key = sbase .. (rule.distinct and ':d' or ':z')
    return redis.call('ZCOUNT', key, '(' .. int(t - rule.within), '+inf') < rule.count
  end

  -- Writes the event into the stream's log once; false when this rule has it already (an
  -- event delivered again, or twice in one batch).
  local function record(u, rule, sbase, member)
    local mine = u.r .. '\0' .. sbase .. '\0' .. member
    if seenBy[mine] then return false end
    seenBy[mine] = true
    local logged = sbase .. '\0' .. member
    if addedHere[logged] then return true end -- a rule of the same stream wrote it in this call
    local tText = int(u.t)
    if redis.call('ZADD', sbase .. ':z', 'NX', tText, member) == 0 then return false end
    addedHere[logged] = true
    if rule.distinct then redis.call('ZADD', sbase .. ':d', 'GT', tText, u.v) end
    return true
  end

  kinds.threshold = {
    update = function(rule, u)
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local base = stateBase(rule, u.g)
      local sbase = rule.stream and (p.prefix .. 'rs:' .. rule.stream .. ':' .. u.g) or base
      local t = u.t
      local member = eventIds[u.e]
      if rule.distinct then member = #u.v .. ':' .. u.v .. ':' .. member end
      if not record(u, rule, sbase, member) then
        duplicate[u.e] = true
        return
      end
      local stream = streams[sbase]
      if stream == nil then
        streams[sbase] = { within = rule.within, ttl = rule.ttl, distinct = rule.distinct, rule = rule }
      else
        stream.within = math.max(stream.within, rule.within)
        stream.ttl = math.max(stream.ttl, rule.ttl)
      end
      local maxT = newest[sbase] -- the group's newest before t, when read earlier in this call
      if maxT ~= nil and t > maxT then newest[sbase] = t end
      if not (latest[sbase] and latest[sbase] >= t) then latest[sbase] = t end
      if cannotComplete(sbase, rule, t) then return end
      -- Read now, after the write: t is the newest unless it arrived out of order.
      if maxT == nil then maxT = newestIn(newest, sbase) end
      if t >= maxT then
        newest[sbase] = t
        tryFire(u, base, sbase, rule, t, true)
      else
        -- A late event can complete windows ending at any later event time below t + within.
        local entries = redis.call('ZRANGEBYSCORE', sbase .. ':z', int(t), '(' .. int(t + rule.within), 'WITHSCORES')
        local lastTime = nil
        for j = 2, #entries, 2 do
          local tEnd = tonumber(entries[j])
          if tEnd ~= lastTime then
            lastTime = tEnd
            tryFire(u, base, sbase, rule, tEnd, false)
          end
        end
      end
    end,

    -- Forget what no event still to come can reach any more: entries older than keepFrom - within
    -- (the longest within of the stream's rules here), from the group's newest time if read, else
    -- the newest accepted here (lower: keeps more).
    finish = function()
      for sbase, stream in pairs(streams) do
        local horizon = keepFrom(newest[sbase] or latest[sbase], stream.rule) - stream.within
        trimBelow(sbase .. ':z', horizon)
        local ttl = int(stream.ttl)
        redis.call('PEXPIRE', sbase .. ':z', ttl)
        if stream.distinct then
          trimBelow(sbase .. ':d', horizon)
          redis.call('PEXPIRE', sbase .. ':d', ttl)
        end
      end
    end,
  }
end
