-- absence: an anchor event a (matching `when` and `after`) alerts iff no accepted event b of its
-- group matches `when` and `expect` with t(a) <= t(b) < t(a) + within; a silence rule's events are
-- each an anchor and an expected event, and an event alerts iff no other event of its group has
-- t(e) < t(b) < t(e) + within. Decided only when the rule's watermark (ruleWatermark: no accepted
-- event below it is still to come) reaches t(a) + within, never before, so the decision is final.
-- One alert per group and suppress span of t(a).
--
-- State per rule: rk:dl deadlines (member group .. '|' .. anchor id, score t(a) + within) and
-- rk:an the anchors (member -> t(a) .. NUL .. d, d what the alert needs of the anchor, as sent:
-- never escaped again; an earlier version kept JSON { t, g, d }, still read); rk:hold
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

  -- A pending anchor from its member (group .. '|' .. id) and kept value.
  local function anchorOf(member, kept)
    local sep = string.find(member, '|', 1, true)
    local a
    if string.sub(kept, 1, 1) == '{' then
      a = cjson.decode(kept)
    else
      local at = string.find(kept, '\0', 1, true)
      local d = string.sub(kept, at + 1)
      a = { g = string.sub(member, 1, sep - 1), t = tonumber(string.sub(kept, 1, at - 1)), d = d ~= '' and d or nil }
    end
    a.id = string.sub(member, sep + 1)
    return a
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
      local tText = int(t)
      if redis.call('ZADD', base .. ':e', 'NX', tText, int(mask) .. ':' .. eventIds[u.e]) == 0 then
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
        local member = u.g .. '|' .. eventIds[u.e]
        redis.call('ZADD', ruleKey(rule) .. ':dl', int(t + rule.within), member)
        redis.call('HSET', ruleKey(rule) .. ':an', member, tText .. '\0' .. (u.d or ''))
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
        if redis.call('ZADD', ruleKey(rule) .. ':hold', 'GT', int(newest[base] + rule.within), group) == 1 then
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
      local due = redis.call('ZRANGEBYSCORE', rk .. ':dl', '-inf', int(watermark), 'LIMIT', 0, budget)
      takeBudget(#due)
      local kept = hashValues(rk .. ':an', due)
      for i, member in ipairs(due) do
        local a = kept[i] and anchorOf(member, kept[i])
        if a then
          local base = stateBase(rule, a.g)
          local from = int(a.t)
          if rule.silence then from = '(' .. from end
          local found = false
          for _, m in ipairs(redis.call('ZRANGEBYSCORE', base .. ':e', from, '(' .. int(a.t + rule.within))) do
            local sep = string.find(m, ':', 1, true)
            if band(tonumber(string.sub(m, 1, sep - 1)), 2) ~= 0 then
              found = true
              break
            end
          end
          if not found then
            local span = math.floor(a.t / rule.suppress)
            local spanText = int(span)
            if redis.call('ZADD', base .. ':f', 'NX', spanText, spanText) == 1 then
              fired[#fired + 1] = { r = ri, e = 1, g = a.g, b = span, ws = a.t, we = a.t + rule.within, c = 0, ids = { a.id }, d = a.d }
            end
          end
        end
      end
      callSliced('ZREM', rk .. ':dl', due)
      callSliced('HDEL', rk .. ':an', due)
      if budget <= 0 then
        more = true
        return
      end
      -- Groups no decision can read any more (every anchor it could serve is decided) get their TTL.
      local released = redis.call('ZRANGEBYSCORE', rk .. ':hold', '-inf', int(watermark), 'LIMIT', 0, budget)
      takeBudget(#released)
      for _, group in ipairs(released) do
        local base = stateBase(rule, group)
        redis.call('PEXPIRE', base .. ':e', int(rule.ttl))
        redis.call('PEXPIRE', base .. ':f', int(rule.ttl))
      end
      callSliced('ZREM', rk .. ':hold', released)
      if budget <= 0 then more = true end
    end,
  }
end
