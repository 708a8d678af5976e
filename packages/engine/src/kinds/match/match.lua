-- match: every matching event alerts, once per event id (remembered for seenTtl).
-- State: prefix .. 'seen:' .. eventId, shared by every match rule (one write per event).
do
  local seenNew = {}
  local seenTtl = p.seenTtl and int(p.seenTtl)
  kinds.match = {
    update = function(rule, u)
      local isNew = seenNew[u.e]
      if isNew == nil then
        isNew = redis.call('SET', p.prefix .. 'seen:' .. eventIds[u.e], '1', 'NX', 'PX', seenTtl) ~= false
        seenNew[u.e] = isNew
        if not isNew then duplicate[u.e] = true end
      end
      if isNew then
        fired[#fired + 1] = { r = u.r, e = u.e, g = u.g, b = 0, ws = u.t, we = u.t, c = 1, ids = { eventIds[u.e] } }
      end
    end,
  }
end
