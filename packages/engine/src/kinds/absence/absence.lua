-- absence: an anchor event a (matching `when` and `after`) alerts iff no accepted event b of its
-- group matches `when` and `expect` with t(a) <= t(b) < t(a) + within; a silence rule's events are
-- each an anchor and an expected event, and an event alerts iff no other event of its group has
-- t(e) < t(b) < t(e) + within. Decided only when the rule's watermark (ruleWatermark: no accepted
-- event below it is still to come) reaches t(a) + within, never before, so the decision is final.
-- One alert per group and suppress span of t(a).
--
-- State per rule: rk:dl the anchors (member group .. '|' .. anchor id .. NUL .. t(a) .. NUL .. d,
-- where d is what the alert needs of the anchor; score the deadline t(a) + within); rk:hold
-- the groups whose events a decision may still read (member group, score newest t + within). Per
-- rule and group: base:e events (member mask .. ':' .. id, mask 1 = anchor, 2 = expected; score
-- time), base:f the spans that fired.
-- Kept by event time: a group's keys carry no TTL while it is held, whatever the wall clock does
-- (a stalled source, a batch failed overnight); once the rule's watermark passes its hold, its keys
-- get the rule's TTL (a backstop for state nothing waits on); a group entering the hold loses its
-- TTL once, when it enters. Rule-level keys are owned by the
-- rule: deleted by the engine's sweep once the rule is gone (rule-state-sweep.ts).
-- Params: within, suppress, lateness, silence, sources[], ttl.
do
  local newest = {}
  local touched = {}
  local band = bit.band

  local function ruleKey(rule)
    return p.prefix .. 'rs:' .. rule.key
  end

  -- A pending anchor's zset member and back (the anchor id may hold any byte; t and d hold no NUL).
  local function anchorMember(group, id, t, d)
    return group .. '|' .. id .. '\0' .. string.format('%.17g', t) .. '\0' .. (d or '')
  end
  local function anchorOf(member)
    local key, t, d = string.match(member, '^(.*)%z([^%z]*)%z([^%z]*)$')
    local sep = string.find(key, '|', 1, true)
    return { g = string.sub(key, 1, sep - 1), id = string.sub(key, sep + 1), t = tonumber(t), d = d ~= '' and d or nil }
  end

  kinds.absence = {
    update = function(rule, u)
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local base = stateBase(rule, u.g)
      local t = u.t
      local mask = 0
      for _, s in ipairs(u.s) do mask = mask + 2 ^ (s - 1) end
      if redis.call('ZADD', base .. ':e', 'NX', t, mask .. ':' .. eventIds[u.e]) == 0 then
        duplicate[u.e] = true
        return
      end
      if newest[base] == nil then
        local top = redis.call('ZRANGE', base .. ':e', -1, -1, 'WITHSCORES')
        newest[base] = tonumber(top[2]) or t
      end
      if t > newest[base] then newest[base] = t end
      touched[base] = rule
      if band(mask, 1) ~= 0 then
        redis.call('ZADD', ruleKey(rule) .. ':dl', t + rule.within, anchorMember(u.g, eventIds[u.e], t, u.d))
      end
    end,

    -- Events no undecided anchor (nor one still to come) can look at any more are forgotten.
    finish = function()
      local firstDeadline = {}
      for base, rule in pairs(touched) do
        -- Events the anchors still to be decided may read stay, also when the watermark already
        -- passed their deadline (decisions wait for the next watermark call, or a later one when a
        -- call's budget ran out).
        local rk = ruleKey(rule)
        if firstDeadline[rk] == nil then
          local first = redis.call('ZRANGE', rk .. ':dl', 0, 0, 'WITHSCORES')
          firstDeadline[rk] = tonumber(first[2]) or math.huge
        end
        local keep = math.min(keepFrom(newest[base], rule), ruleWatermark(rule), firstDeadline[rk])
        trimBelow(base .. ':e', keep - rule.within)
        local group = string.sub(base, #ruleKey(rule) + 2)
        if redis.call('ZADD', ruleKey(rule) .. ':hold', 'GT', newest[base] + rule.within, group) == 1 then
          redis.call('PERSIST', base .. ':e')
          redis.call('PERSIST', base .. ':f')
        end
      end
    end,

    decide = function(rule, ri, watermark)
      if watermark == -math.huge then return end
      if budget <= 0 then
        more = true
        return
      end
      local rk = ruleKey(rule)
      local due = redis.call('ZRANGEBYSCORE', rk .. ':dl', '-inf', watermark, 'LIMIT', 0, budget)
      takeBudget(#due)
      local legacy = {}
      for _, member in ipairs(due) do
        local a
        if string.find(member, '\0', 1, true) then
          a = anchorOf(member)
        else
          -- Written by an earlier version: member group .. '|' .. id, the anchor's JSON in rk:an.
          legacy[#legacy + 1] = member
          local raw = redis.call('HGET', rk .. ':an', member)
          if raw then
            a = cjson.decode(raw)
            a.id = string.sub(member, string.find(member, '|', 1, true) + 1)
          end
        end
        if a then
          local base = stateBase(rule, a.g)
          local from = a.t
          if rule.silence then from = '(' .. a.t end
          local found = false
          for _, m in ipairs(redis.call('ZRANGEBYSCORE', base .. ':e', from, '(' .. (a.t + rule.within))) do
            local sep = string.find(m, ':', 1, true)
            if band(tonumber(string.sub(m, 1, sep - 1)), 2) ~= 0 then
              found = true
              break
            end
          end
          if not found then
            local span = math.floor(a.t / rule.suppress)
            if redis.call('ZADD', base .. ':f', 'NX', span, span) == 1 then
              fired[#fired + 1] = { r = ri, e = 1, g = a.g, b = span, ws = a.t, we = a.t + rule.within, c = 0, ids = { a.id }, d = a.d }
            end
          end
        end
      end
      callSliced('ZREM', rk .. ':dl', due)
      if #legacy > 0 then callSliced('HDEL', rk .. ':an', legacy) end
      if budget <= 0 then
        more = true
        return
      end
      -- Groups no decision can read any more (every anchor it could serve is decided) get their TTL.
      local released = redis.call('ZRANGEBYSCORE', rk .. ':hold', '-inf', watermark, 'LIMIT', 0, budget)
      takeBudget(#released)
      for _, group in ipairs(released) do
        local base = stateBase(rule, group)
        redis.call('PEXPIRE', base .. ':e', rule.ttl)
        redis.call('PEXPIRE', base .. ':f', rule.ttl)
      end
      callSliced('ZREM', rk .. ':hold', released)
      if budget <= 0 then more = true end
    end,
  }
end
