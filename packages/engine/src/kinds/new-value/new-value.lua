-- newValue: an accepted event e of group g with value v qualifies iff the group has an accepted
-- event at or before t(e) - learning (learning 0: always) and no accepted event of the same
-- group and value has a time in [t(e) - forgetAfter, t(e) - lateness). One alert per group,
-- value and suppress span of t(e); it says when the value was last seen before t(e) - lateness,
-- if ever.
--
-- Deferred until final: e's verdict asks only about events older than t(e) - lateness (learning
-- is 0 or longer than the lateness). The rule's watermark W (ruleWatermark: min over the sources
-- of max(delivered - lateness, bound)) says that every accepted event still to be applied, in
-- whatever order batches and replicas go, is at least W: one delivered before the last mark
-- applied is already applied (a mark is applied after its page's batches and in seq order), one
-- delivered after it lags its source's newest (>= delivered) by at most the lateness or is
-- refused, and a bound is the source's own promise. So once W >= t(e) - lateness, every event
-- the verdict asks about that will ever be accepted is here, and the verdict is final. Each
-- accepted event is a candidate with deadline t(e) - lateness: decided at the end of its batch
-- if the watermark already passes it, else kept in rk:nd and decided by the watermark call
-- (decide) that passes it. Candidates are decided in (deadline, member) order. With no source
-- known at all (a store fed without sources: batches come in their source's order, as keepFrom
-- assumes), a batch's candidates are decided at its end.
--
-- Decided at once when already final: a candidate whose value the group holds with an occurrence
-- in [t(e) - forgetAfter, t(e) - lateness) is not new, and only more occurrences can come.
--
-- State per rule: rk:nd pending candidates (member group .. '|' .. value .. '|' .. id, score
-- t(e) - lateness), rk:nc their time and data (member -> t .. NUL .. the event's data, as sent: never
-- escaped again; an earlier version kept JSON { t, g, v, id, d }, still read) and rk:pg how many
-- are pending per group and per group|value. Per rule and group: base:h { min,
-- max } event times; base:o:<value> the value's events (member id, score time), pruned to those
-- newer than keepFrom(max) - lateness plus the newest older one (all a verdict still to take can
-- ask for: an undecided candidate has t(e) - lateness > W >= keepFrom); base:v each value's latest
-- time (for the cap of maxValues values per group: beyond it the least recently seen value is
-- forgotten); base:f the (span, value) pairs that fired.
-- Kept by event time: while a group has pending candidates its h, v and f keys, and each pending
-- value's o key, carry no TTL (what a verdict reads never expires before it is taken); they get the
-- rule's TTL back when the last one is decided. A call sets each key's TTL once, from the counts
-- before and after it: PERSIST when pending starts, PEXPIRE when it is not pending. Rule-level keys
-- are owned by the rule (the engine's sweep deletes them once it is gone).
-- Params: learning, forget, lateness, suppress, maxValues, ttl, sources[].
do
  local groups = {}
  local touched = {}
  local touchedValues = {}
  local forgotten = {}
  local candidates = {}

  local function ruleKey(rule)
    return p.prefix .. 'rs:' .. rule.key
  end
  local WIDE_FIELD = '~' .. string.rep('-', 64)

  local function groupOf(base)
    local g = groups[base]
    if not g then
      local h = redis.call('HMGET', base .. ':h', 'min', 'max')
      g = { min = tonumber(h[1]), max = tonumber(h[2]) }
      groups[base] = g
    end
    return g
  end

  -- A pending candidate from its member and kept value.
  local function candidateOf(m, kept)
    if string.sub(kept, 1, 1) == '{' then return cjson.decode(kept) end
    local sep = string.find(kept, '\0', 1, true)
    local g, v, id = string.match(m, '^([^|]*)|([^|]*)|(.*)$')
    local d = string.sub(kept, sep + 1)
    return { t = tonumber(string.sub(kept, 1, sep - 1)), g = g, v = v, id = id, d = d ~= '' and d or nil }
  end

  -- Pending counts per group and group|value: read the fields' counts (one HMGET), add the deltas,
  -- write them back (one HSET, one HDEL). Returns field -> { before, after }.
  local function applyCounts(rk, deltas, fields)
    local counts = {}
    if #fields == 0 then return counts end
    local now = hashValues(rk .. ':pg', fields)
    local set, gone = {}, {}
    for i, field in ipairs(fields) do
      local before = tonumber(now[i]) or 0
      local after = before + (deltas[field] or 0)
      counts[field] = { before = before, after = after }
      if after ~= before then
        if after > 0 then
          set[#set + 1] = field
          set[#set + 1] = int(after)
        else
          gone[#gone + 1] = field
        end
      end
    end
    if #set > 0 then
      -- A field longer than hash-max-listpack-value (64 by default) keeps the hash a hashtable: as a
      -- listpack of up to 128 counts every lookup is a scan (~10% of the script's time, callgrind).
      set[#set + 1] = WIDE_FIELD
      set[#set + 1] = '1'
      callSliced('HSET', rk .. ':pg', set, 2)
    end
    if #gone > 0 then callSliced('HDEL', rk .. ':pg', gone) end
    return counts
  end

  -- A key's TTL from its pending count before and after a call: none while pending.
  local function keepWhilePending(key, count, ttl)
    if count.after > 0 then
      if count.before <= 0 then redis.call('PERSIST', key) end
    else
      redis.call('PEXPIRE', key, int(ttl))
    end
  end

  -- The verdict on candidate c ({ t, g, v, id }), final once the watermark reaches t - lateness;
  -- returns the fired entry (without r, e) or nil. The fired key's TTL is its caller's to set.
  local function verdict(rule, c)
    local base = stateBase(rule, c.g)
    local g = groupOf(base)
    local t = c.t
    local learned = rule.learning == 0 or (g.min ~= nil and g.min <= t - rule.learning)
    if not learned then return nil end
    local before = redis.call('ZREVRANGEBYSCORE', base .. ':o:' .. c.v, '(' .. int(t - rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
    local lastSeen = tonumber(before[2])
    if lastSeen ~= nil and lastSeen >= t - rule.forget then return nil end
    local span = math.floor(t / rule.suppress)
    local spanText = int(span)
    if redis.call('ZADD', base .. ':f', 'NX', spanText, spanText .. ':' .. c.v) == 0 then return nil end
    return { g = c.g, b = span, ws = t, we = t, c = 1, ids = { c.id }, val = c.v, ls = lastSeen }
  end

  kinds.newValue = {
    update = function(rule, u)
      local base = stateBase(rule, u.g)
      local g = groupOf(base)
      local t = u.t
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local occurrences = base .. ':o:' .. u.v
      local tText = int(t)
      if redis.call('ZADD', occurrences, 'NX', tText, eventIds[u.e]) == 0 then
        duplicate[u.e] = true
        return
      end
      if g.min == nil or t < g.min then g.min = t end
      if g.max == nil or t > g.max then g.max = t end
      touched[base] = { rule = rule, g = u.g }
      local firstTouch = touchedValues[occurrences] == nil
      local value = touchedValues[occurrences] or { base = base, rule = rule, g = u.g, v = u.v }
      touchedValues[occurrences] = value
      -- A value new to the group (not in base:v: never seen, forgotten past the cap, or expired
      -- with it) has no occurrence but the ones this call adds: on its first touch, none older
      -- than t, so no occurrence in [t - forget, t - lateness), and nothing to prune at the end.
      local isNew = redis.call('ZADD', base .. ':v', 'GT', tText, u.v) == 1
      if isNew and firstTouch then value.fresh = true end
      local seenBefore = false
      if not (isNew and firstTouch) then
        seenBefore = #redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. int(t - rule.lateness), int(t - rule.forget), 'LIMIT', 0, 1) > 0
      end
      if not seenBefore then
        candidates[#candidates + 1] = { rule = rule, r = u.r, e = u.e, t = t, g = u.g, v = u.v, id = eventIds[u.e], d = u.d, m = u.g .. '|' .. u.v .. '|' .. eventIds[u.e] }
      end
      -- A value new to the group may take it past its cap.
      if isNew and redis.call('ZCARD', base .. ':v') > rule.maxValues then
        local popped = redis.call('ZPOPMIN', base .. ':v')
        redis.call('DEL', base .. ':o:' .. popped[1])
        touchedValues[base .. ':o:' .. popped[1]] = nil
        forgotten[u.r] = (forgotten[u.r] or 0) + 1
      end
    end,

    finish = function()
      -- The batch's candidates: decided now where the watermark passes them, else kept.
      table.sort(candidates, function(a, b)
        local da, db = a.t - a.rule.lateness, b.t - b.rule.lateness
        if da ~= db then return da < db end
        if a.m ~= b.m then return a.m < b.m end
        return a.r < b.r
      end)
      local noSource = next(loadSources()) == nil
      local watermarks = {}
      local deltas = {} -- rule key -> field -> pending added
      for _, c in ipairs(candidates) do
        local rule = c.rule
        local w = watermarks[rule]
        if w == nil then
          if noSource and not listsSources(rule) then w = math.huge else w = ruleWatermark(rule) end
          watermarks[rule] = w
        end
        local deadline = c.t - rule.lateness
        if deadline <= w then
          local f = verdict(rule, c)
          if f then
            f.r, f.e = c.r, c.e
            fired[#fired + 1] = f
          end
        else
          local rk = ruleKey(rule)
          if redis.call('ZADD', rk .. ':nd', int(deadline), c.m) == 1 then
            redis.call('HSET', rk .. ':nc', c.m, int(c.t) .. '\0' .. (c.d or ''))
            local added = deltas[rk] or {}
            deltas[rk] = added
            added[c.g] = (added[c.g] or 0) + 1
            added[c.g .. '|' .. c.v] = (added[c.g .. '|' .. c.v] or 0) + 1
          end
        end
      end
      -- Each rule's pending counts for every group and value this batch touched, before and after.
      local fieldsOf = {}
      for _, at in pairs(touched) do
        local rk = ruleKey(at.rule)
        fieldsOf[rk] = fieldsOf[rk] or {}
        table.insert(fieldsOf[rk], at.g)
      end
      for _, at in pairs(touchedValues) do
        table.insert(fieldsOf[ruleKey(at.rule)], at.g .. '|' .. at.v)
      end
      local counts, firstDeadline = {}, {}
      for rk, fields in pairs(fieldsOf) do
        counts[rk] = applyCounts(rk, deltas[rk] or {}, fields)
        -- What the candidates still to be decided may read stays, also when the watermark already
        -- passed their deadline (decided on the next watermark call, or later when a call's budget ran out).
        local first = redis.call('ZRANGE', rk .. ':nd', 0, 0, 'WITHSCORES')
        firstDeadline[rk] = tonumber(first[2]) or math.huge
      end
      for occurrences, at in pairs(touchedValues) do
        local rk = ruleKey(at.rule)
        local keep = math.min(keepFrom(groups[at.base].max, at.rule), firstDeadline[rk] + at.rule.lateness)
        if keep > -math.huge and not at.fresh then
          local old = redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. int(keep - at.rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
          if old[2] then redis.call('ZREMRANGEBYSCORE', occurrences, '-inf', '(' .. old[2]) end
        end
        keepWhilePending(occurrences, counts[rk][at.g .. '|' .. at.v], at.rule.ttl)
      end
      for base, at in pairs(touched) do
        local g, rule = groups[base], at.rule
        redis.call('HSET', base .. ':h', 'min', int(g.min), 'max', int(g.max))
        trimBelow(base .. ':f', math.floor(keepFrom(g.max, rule) / rule.suppress))
        local count = counts[ruleKey(rule)][at.g]
        for _, part in ipairs({ ':h', ':v', ':f' }) do keepWhilePending(base .. part, count, rule.ttl) end
      end
      for r, n in pairs(forgotten) do forgottenValues[#forgottenValues + 1] = { r, n } end
    end,

    -- A watermark call: every pending candidate whose deadline the rule's watermark now passes.
    decide = function(rule, ri, watermark)
      if watermark == -math.huge then return end
      if budget <= 0 then
        more = true
        return
      end
      local rk = ruleKey(rule)
      local due = redis.call('ZRANGEBYSCORE', rk .. ':nd', '-inf', int(watermark), 'LIMIT', 0, budget)
      takeBudget(#due)
      if budget <= 0 then more = true end
      if #due == 0 then return end
      local deltas, fields, decided = {}, {}, {}
      local kept = hashValues(rk .. ':nc', due)
      for i, member in ipairs(due) do
        local c = kept[i] and candidateOf(member, kept[i])
        if c then
          local f = verdict(rule, c)
          if f then
            f.r, f.e, f.d = ri, 1, c.d
            fired[#fired + 1] = f
          end
          for _, field in ipairs({ c.g, c.g .. '|' .. c.v }) do
            if deltas[field] == nil then
              deltas[field] = 0
              fields[#fields + 1] = field
            end
            deltas[field] = deltas[field] - 1
          end
          decided[#decided + 1] = c
        end
      end
      callSliced('ZREM', rk .. ':nd', due)
      callSliced('HDEL', rk .. ':nc', due)
      local counts = applyCounts(rk, deltas, fields)
      local expired = {}
      for _, c in ipairs(decided) do
        local base = stateBase(rule, c.g)
        if counts[c.g .. '|' .. c.v].after <= 0 and not expired[base .. ':o:' .. c.v] then
          expired[base .. ':o:' .. c.v] = true
          redis.call('PEXPIRE', base .. ':o:' .. c.v, int(rule.ttl))
        end
        if counts[c.g].after <= 0 and not expired[base] then
          expired[base] = true
          for _, part in ipairs({ ':h', ':v', ':f' }) do redis.call('PEXPIRE', base .. part, int(rule.ttl)) end
        end
      end
    end,
  }
end
