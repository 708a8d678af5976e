-- sequence: an alert for a group and suppress span exists iff there are disjoint sets S1..Sk of
-- distinct accepted events of the group, each event of Si matching step i, |Si| >= counts[i],
-- (ordered) every event of Si no later than every event of S(i+1), the chain's last event
-- minus its first less than `within`, and the last event's time in the span. Monotone in the
-- set of events, so the fired spans do not depend on arrival order within the lateness.
--
-- A chain whose last event is at tEnd lies in the window (tEnd - within, tEnd]. Events are
-- reduced to their step mask (bit i-1 set when the event matches step i): which steps can take
-- how many events is a tiny flow problem over at most 31 masks and 5 steps, solved with
-- augmenting paths. Ordered chains are filled greedily, one event time after another, as far
-- as the slots in step order go (more progress never hurts later), with the last step kept one
-- short before tEnd so that the chain ends at tEnd.
--
-- State per rule and group: base:z events (member "mask:id", score: time), base:f fired spans.
-- Params: counts[], within, suppress, lateness, ordered, ttl.
do
  local newest = {}
  local touched = {}
  local band = bit.band

  local function maskOf(member)
    local sep = string.find(member, ':', 1, true)
    return tonumber(string.sub(member, 1, sep - 1)), string.sub(member, sep + 1)
  end

  -- One more event for `step`, from a mask with spare events, rerouting others if need be.
  local function augment(step, flow, used, avail, masks, lo, hi, visited)
    visited[step] = true
    local bitOf = 2 ^ (step - 1)
    for _, m in ipairs(masks) do
      if band(m, bitOf) ~= 0 and used[m] < avail[m] then
        flow[m][step] = flow[m][step] + 1
        used[m] = used[m] + 1
        return true
      end
    end
    for _, m in ipairs(masks) do
      if band(m, bitOf) ~= 0 then
        for s2 = lo, hi do
          if not visited[s2] and flow[m][s2] > 0 and augment(s2, flow, used, avail, masks, lo, hi, visited) then
            flow[m][s2] = flow[m][s2] - 1
            flow[m][step] = flow[m][step] + 1
            return true
          end
        end
      end
    end
    return false
  end

  -- Masks of a list of events, with how many events each has.
  local function tally(events, from, to)
    local avail, masks, used, flow = {}, {}, {}, {}
    for j = from, to do
      local m = events[j].mask
      if not avail[m] then
        avail[m] = 0; used[m] = 0; flow[m] = {}
        for s = 1, 5 do flow[m][s] = 0 end
        masks[#masks + 1] = m
      end
      avail[m] = avail[m] + 1
    end
    return avail, masks, used, flow
  end

  -- Hands each event of events[from..to] to the step its mask's flow says (latest events first).
  local function assign(events, from, to, flow, chain)
    for j = to, from, -1 do
      local ev = events[j]
      local row = flow[ev.mask]
      for s = 1, 5 do
        if row[s] > 0 then
          row[s] = row[s] - 1
          local list = chain[s]
          list[#list + 1] = ev
          break
        end
      end
    end
  end

  local function windowEvents(base, rule, tEnd)
    local raw = redis.call('ZRANGEBYSCORE', base .. ':z', '(' .. int(tEnd - rule.within), int(tEnd), 'WITHSCORES')
    local events = {}
    for j = 1, #raw, 2 do
      local mask, id = maskOf(raw[j])
      events[#events + 1] = { mask = mask, id = id, t = tonumber(raw[j + 1]) }
    end
    return events
  end

  -- A chain ending at tEnd, per step its events, or nil.
  local function unorderedChain(rule, events, tEnd)
    local counts, k = rule.counts, #rule.counts
    local avail, masks, used, flow = tally(events, 1, #events)
    for s = 1, k do
      for _ = 1, counts[s] do
        if not augment(s, flow, used, avail, masks, 1, k, {}) then return nil end
      end
    end
    local chain = {}
    for s = 1, k do chain[s] = {} end
    assign(events, 1, #events, flow, chain)
    -- Some event at tEnd belongs to the chain: if none was handed out, swap one in.
    local last = events[#events]
    local inChain = false
    for s = 1, k do
      for _, ev in ipairs(chain[s]) do if ev.t == tEnd then inChain = true end end
    end
    if not inChain then
      for s = 1, k do
        if band(last.mask, 2 ^ (s - 1)) ~= 0 then chain[s][#chain[s]] = last; break end
      end
    end
    return chain
  end

  local function orderedChain(rule, events, tEnd)
    local counts, k = rule.counts, #rule.counts
    local chain = {}
    for s = 1, k do chain[s] = {} end
    local step, filled = 1, 0
    local from = 1
    while from <= #events do
      local t = events[from].t
      local to = from
      while to < #events and events[to + 1].t == t do to = to + 1 end
      local avail, masks, used, flow = tally(events, from, to)
      local s, got, stop = step, filled, false
      while s <= k and not stop do
        local want = counts[s]
        if s == k and t < tEnd then want = want - 1 end
        while got < want do
          if augment(s, flow, used, avail, masks, step, s, {}) then got = got + 1 else stop = true; break end
        end
        if not stop then
          if s == k then
            if got >= counts[k] then
              assign(events, from, to, flow, chain)
              return chain
            end
            stop = true
          else
            s = s + 1; got = 0
          end
        end
      end
      assign(events, from, to, flow, chain)
      step, filled = s, got
      from = to + 1
    end
    return nil
  end

  local function tryFire(u, base, rule, tEnd)
    local span = math.floor(tEnd / rule.suppress)
    if redis.call('ZSCORE', base .. ':f', int(span)) then return end
    local events = windowEvents(base, rule, tEnd)
    local chain
    if rule.ordered then chain = orderedChain(rule, events, tEnd) else chain = unorderedChain(rule, events, tEnd) end
    if not chain then return end
    local ids, steps, first, count = {}, {}, tEnd, 0
    for s = 1, #rule.counts do
      local stepIds = {}
      table.sort(chain[s], function(a, b) if a.t ~= b.t then return a.t < b.t end return a.id < b.id end)
      for _, ev in ipairs(chain[s]) do
        stepIds[#stepIds + 1] = ev.id
        if #ids < p.maxIds then ids[#ids + 1] = ev.id end
        if ev.t < first then first = ev.t end
        count = count + 1
      end
      steps[s] = stepIds
    end
    fired[#fired + 1] = { r = u.r, e = u.e, g = u.g, b = span, ws = first, we = tEnd, c = count, ids = ids, ch = steps }
    recordFired(base, rule, span, newest[base])
  end

  kinds.sequence = {
    update = function(rule, u)
      local base = stateBase(rule, u.g)
      local t = u.t
      local maxT = newestIn(newest, base)
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local mask = 0
      for _, s in ipairs(u.s) do mask = mask + 2 ^ (s - 1) end
      if redis.call('ZADD', base .. ':z', 'NX', int(t), int(mask) .. ':' .. eventIds[u.e]) == 0 then
        duplicate[u.e] = true
        return
      end
      touched[base] = rule
      if not maxT or t >= maxT then
        newest[base] = t
        tryFire(u, base, rule, t)
      else
        local entries = redis.call('ZRANGEBYSCORE', base .. ':z', int(t), '(' .. int(t + rule.within), 'WITHSCORES')
        local lastTime = nil
        for j = 2, #entries, 2 do
          local tEnd = tonumber(entries[j])
          if tEnd ~= lastTime then
            lastTime = tEnd
            tryFire(u, base, rule, tEnd)
          end
        end
      end
    end,

    finish = function()
      for base, rule in pairs(touched) do
        trimBelow(base .. ':z', keepFrom(newest[base], rule) - rule.within)
        redis.call('PEXPIRE', base .. ':z', int(rule.ttl))
      end
    end,
  }
end
