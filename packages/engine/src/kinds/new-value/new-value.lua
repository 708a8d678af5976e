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
-- t(e) - lateness), rk:nc their data (member -> JSON { t, g, v, id, d }) and rk:pg how many are
-- pending per group and per group|value. Per rule and group: base:h { min, max } event times;
-- base:o:<value> the value's events (member id, score time), pruned to those newer than
-- keepFrom(max) - lateness plus the newest older one (all a verdict still to take can ask for: an
-- undecided candidate has t(e) - lateness > W >= keepFrom); base:v each value's latest time (for
-- the cap of maxValues values per group: beyond it the least recently seen value is forgotten);
-- base:f the (span, value) pairs that fired.
-- Kept by event time: while a group has pending candidates its h, v and f keys, and each pending
-- value's o key, carry no TTL (what a verdict reads never expires before it is taken); they get the
-- rule's TTL back when the last one is decided. Rule-level keys are owned by the rule (the
-- engine's sweep deletes them once it is gone).
-- Params: learning, forget, lateness, suppress, maxValues, ttl, sources[].
do
  local groups = {}
  local touched = {}
  local touchedValues = {}
  local forgotten = {}
  local candidates = {}
  local heldNow = {}

  local function ruleKey(rule)
    return p.prefix .. 'rs:' .. rule.key
  end

  local function groupOf(base)
    local g = groups[base]
    if not g then
      local h = redis.call('HMGET', base .. ':h', 'min', 'max')
      g = { min = tonumber(h[1]), max = tonumber(h[2]) }
      groups[base] = g
    end
    return g
  end

  -- The verdict on candidate c ({ t, g, v, id }), final once the watermark reaches t - lateness;
  -- returns the fired entry (without r, e) or nil.
  local function verdict(rule, c)
    local base = stateBase(rule, c.g)
    local g = groupOf(base)
    local t = c.t
    local learned = rule.learning == 0 or (g.min ~= nil and g.min <= t - rule.learning)
    if not learned then return nil end
    local before = redis.call('ZREVRANGEBYSCORE', base .. ':o:' .. c.v, '(' .. (t - rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
    local lastSeen = tonumber(before[2])
    if lastSeen ~= nil and lastSeen >= t - rule.forget then return nil end
    local span = math.floor(t / rule.suppress)
    if redis.call('ZADD', base .. ':f', 'NX', span, span .. ':' .. c.v) == 0 then return nil end
    redis.call('PEXPIRE', base .. ':f', rule.ttl)
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
      if redis.call('ZADD', occurrences, 'NX', t, eventIds[u.e]) == 0 then
        duplicate[u.e] = true
        return
      end
      if g.min == nil or t < g.min then g.min = t end
      if g.max == nil or t > g.max then g.max = t end
      touched[base] = rule
      touchedValues[occurrences] = { base = base, rule = rule }
      redis.call('ZADD', base .. ':v', 'GT', t, u.v)
      local before = redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. (t - rule.lateness), t - rule.forget, 'LIMIT', 0, 1)
      if #before == 0 then
        candidates[#candidates + 1] = { rule = rule, r = u.r, e = u.e, t = t, g = u.g, v = u.v, id = eventIds[u.e], d = u.d, m = u.g .. '|' .. u.v .. '|' .. eventIds[u.e] }
      end
      if redis.call('ZCARD', base .. ':v') > rule.maxValues then
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
          if redis.call('ZADD', rk .. ':nd', deadline, c.m) == 1 then
            redis.call('HSET', rk .. ':nc', c.m, cjson.encode({ t = c.t, g = c.g, v = c.v, id = c.id, d = c.d }))
            redis.call('HINCRBY', rk .. ':pg', c.g, 1)
            redis.call('HINCRBY', rk .. ':pg', c.g .. '|' .. c.v, 1)
            heldNow[#heldNow + 1] = { rule = rule, g = c.g, v = c.v }
          end
        end
      end
      local firstDeadline = {}
      for occurrences, at in pairs(touchedValues) do
        -- What the candidates still to be decided may read stays, also when the watermark already
        -- passed their deadline (decided on the next watermark call, or later when a call's budget ran out).
        local rk = ruleKey(at.rule)
        if firstDeadline[rk] == nil then
          local first = redis.call('ZRANGE', rk .. ':nd', 0, 0, 'WITHSCORES')
          firstDeadline[rk] = tonumber(first[2]) or math.huge
        end
        local keep = math.min(keepFrom(groups[at.base].max, at.rule), firstDeadline[rk] + at.rule.lateness)
        if keep > -math.huge then
          local old = redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. (keep - at.rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
          if old[2] then redis.call('ZREMRANGEBYSCORE', occurrences, '-inf', '(' .. old[2]) end
        end
        redis.call('PEXPIRE', occurrences, at.rule.ttl)
      end
      for base, rule in pairs(touched) do
        local g = groups[base]
        redis.call('HSET', base .. ':h', 'min', g.min, 'max', g.max)
        trimBelow(base .. ':f', math.floor(keepFrom(g.max, rule) / rule.suppress))
        for _, part in ipairs({ ':h', ':v', ':f' }) do redis.call('PEXPIRE', base .. part, rule.ttl) end
      end
      -- Groups with pending candidates keep what their verdicts read (the TTLs above undone).
      local pendingOf = {}
      for base, rule in pairs(touched) do
        local rk = ruleKey(rule)
        if pendingOf[rk] == nil then pendingOf[rk] = redis.call('EXISTS', rk .. ':pg') == 1 end
        if pendingOf[rk] and tonumber(redis.call('HGET', rk .. ':pg', string.sub(base, #rk + 2))) then
          heldNow[#heldNow + 1] = { rule = rule, g = string.sub(base, #rk + 2) }
        end
      end
      local valuesOf = nil
      for _, held in ipairs(heldNow) do
        local base = stateBase(held.rule, held.g)
        for _, part in ipairs({ ':h', ':v', ':f' }) do redis.call('PERSIST', base .. part) end
        if held.v then
          redis.call('PERSIST', base .. ':o:' .. held.v)
        else
          -- The pending values' occurrences: those touched here lost their persistence above.
          if valuesOf == nil then
            valuesOf = {}
            for occurrences, at in pairs(touchedValues) do
              valuesOf[at.base] = valuesOf[at.base] or {}
              table.insert(valuesOf[at.base], occurrences)
            end
          end
          for _, occurrences in ipairs(valuesOf[base] or {}) do
            local v = string.sub(occurrences, #base + 4)
            if tonumber(redis.call('HGET', ruleKey(held.rule) .. ':pg', held.g .. '|' .. v)) then
              redis.call('PERSIST', occurrences)
            end
          end
        end
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
      local due = redis.call('ZRANGEBYSCORE', rk .. ':nd', '-inf', watermark, 'LIMIT', 0, budget)
      takeBudget(#due)
      if budget <= 0 then more = true end
      for _, member in ipairs(due) do
        local raw = redis.call('HGET', rk .. ':nc', member)
        if raw then
          local c = cjson.decode(raw)
          local f = verdict(rule, c)
          if f then
            f.r, f.e, f.d = ri, 1, c.d
            fired[#fired + 1] = f
          end
        end
        redis.call('ZREM', rk .. ':nd', member)
        redis.call('HDEL', rk .. ':nc', member)
        if raw then
          local c = cjson.decode(raw)
          local base = stateBase(rule, c.g)
          if redis.call('HINCRBY', rk .. ':pg', c.g .. '|' .. c.v, -1) <= 0 then
            redis.call('HDEL', rk .. ':pg', c.g .. '|' .. c.v)
            redis.call('PEXPIRE', base .. ':o:' .. c.v, rule.ttl)
          end
          if redis.call('HINCRBY', rk .. ':pg', c.g, -1) <= 0 then
            redis.call('HDEL', rk .. ':pg', c.g)
            for _, part in ipairs({ ':h', ':v', ':f' }) do redis.call('PEXPIRE', base .. part, rule.ttl) end
          end
        end
      end
    end,
  }
end
