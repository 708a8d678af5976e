-- newValue: an accepted event e of group g with value v qualifies iff the group has an accepted
-- event at or before t(e) - learning (learning 0: always) and no accepted event of the same
-- group and value has a time in [t(e) - forgetAfter, t(e) - lateness). Applied in the source's
-- order, accepted events are never older than the group's newest minus the lateness, so nothing
-- applied later can change that verdict (learning is 0 or longer than the lateness); batches
-- applied out of their source's order can see a value as new that an earlier batch, not yet
-- applied, holds (the verdict is not yet deferred to the source's watermark). One alert per group, value and suppress
-- span of t(e); it says when the value was last seen before t(e) - lateness, if ever.
--
-- State per rule and group: base:h { min, max } event times; base:o:<value> the value's events
-- (member id, score time), pruned to those newer than max - 2 * lateness plus the newest older
-- one (all a later verdict can ask for); base:v each value's latest time (for the cap of
-- maxValues values per group: beyond it the least recently seen value is forgotten);
-- base:f the (span, value) pairs that fired.
-- Params: learning, forget, lateness, suppress, maxValues, ttl.
do
  local groups = {}
  local touched = {}
  local forgotten = {}

  kinds.newValue = {
    update = function(rule, u)
      local base = stateBase(rule, u.g)
      local g = groups[base]
      if not g then
        local h = redis.call('HMGET', base .. ':h', 'min', 'max')
        g = { min = tonumber(h[1]), max = tonumber(h[2]) }
        groups[base] = g
      end
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
      local learned = rule.learning == 0 or (g.min ~= nil and g.min <= t - rule.learning)
      local before = redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. (t - rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
      local lastSeen = tonumber(before[2])
      if g.min == nil or t < g.min then g.min = t end
      if g.max == nil or t > g.max then g.max = t end
      touched[base] = rule
      redis.call('ZADD', base .. ':v', 'GT', t, u.v)
      if learned and (lastSeen == nil or lastSeen < t - rule.forget) then
        local span = math.floor(t / rule.suppress)
        if redis.call('ZADD', base .. ':f', 'NX', span, span .. ':' .. u.v) == 1 then
          fired[#fired + 1] = { r = u.r, e = u.e, g = u.g, b = span, ws = t, we = t, c = 1, ids = { eventIds[u.e] }, val = u.v, ls = lastSeen }
        end
      end
      local keep = keepFrom(g.max, rule.lateness)
      if keep > -math.huge then
        local old = redis.call('ZREVRANGEBYSCORE', occurrences, '(' .. (keep - rule.lateness), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
        if old[2] then redis.call('ZREMRANGEBYSCORE', occurrences, '-inf', '(' .. old[2]) end
      end
      redis.call('PEXPIRE', occurrences, rule.ttl)
      if redis.call('ZCARD', base .. ':v') > rule.maxValues then
        local popped = redis.call('ZPOPMIN', base .. ':v')
        redis.call('DEL', base .. ':o:' .. popped[1])
        forgotten[u.r] = (forgotten[u.r] or 0) + 1
      end
    end,

    finish = function()
      for base, rule in pairs(touched) do
        local g = groups[base]
        redis.call('HSET', base .. ':h', 'min', g.min, 'max', g.max)
        trimBelow(base .. ':f', math.floor(keepFrom(g.max, rule.lateness) / rule.suppress))
        for _, part in ipairs({ ':h', ':v', ':f' }) do redis.call('PEXPIRE', base .. part, rule.ttl) end
      end
      for r, n in pairs(forgotten) do forgottenValues[#forgottenValues + 1] = { r, n } end
    end,
  }
end
