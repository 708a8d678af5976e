-- travel (impossible travel): an alert for a group and suppress span exists iff some pair of the
-- group's accepted events, with different IPs and both located, at most `horizon` apart, implies
-- a speed above maxSpeed (the great-circle distance less both accuracy radii, over the time
-- between them counted as at least a minute; the distance also at least minDistance and above 0),
-- the later event's time falling in the span. Pairs only accumulate, so the fired spans do not
-- depend on arrival order within the lateness.
--
-- Each new event is paired with the group's kept events within `horizon` of it, in (time, id)
-- order (travel.reference.ts is the same, as a plain definition); the first pair of a span not
-- fired yet fires it, carrying both events' locations.
--
-- State per rule and group: base:z event ids scored by time, base:h id -> the event's location
-- (its update data: JSON { ip, lat, lon, acc, country?, city? }), base:f fired spans. Events too
-- old to pair with any event still to come are trimmed, and at most maxEvents are kept (the
-- oldest go first). Params: horizon, maxSpeed (km/h), minDistance (km), suppress, lateness,
-- maxEvents, ttl.
do
  local newest = {}
  local touched = {}
  local places = {}
  local RAD = math.pi / 180
  local EARTH_RADIUS_KM = 6371.0088

  local function placeOf(data)
    local place = places[data]
    if place == nil then
      place = cjson.decode(data)
      places[data] = place
    end
    return place
  end

  -- As travel.geo.ts isImpossible, operation for operation.
  local function impossible(rule, a, ta, b, tb)
    if a.ip == b.ip then return false end
    local dt = math.abs(tb - ta)
    if dt > rule.horizon then return false end
    local s1 = math.sin(((b.lat - a.lat) * RAD) / 2)
    local s2 = math.sin(((b.lon - a.lon) * RAD) / 2)
    local h = math.min(1, s1 * s1 + math.cos(a.lat * RAD) * math.cos(b.lat * RAD) * s2 * s2)
    local distance = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)) - a.acc - b.acc
    if distance <= 0 or distance < rule.minDistance then return false end
    local hours = math.max(dt, 60000) / 3600000
    return distance / hours > rule.maxSpeed
  end

  -- (time, id) order, as ZRANGEBYSCORE returns members.
  local function before(ta, ida, tb, idb)
    if ta ~= tb then return ta < tb end
    return ida < idb
  end

  kinds.travel = {
    update = function(rule, u)
      local base = stateBase(rule, u.g)
      local maxT = newestIn(newest, base)
      if isLate(rule, u) then
        late[#late + 1] = { u.r, u.e }
        return
      end
      local id = eventIds[u.e]
      if redis.call('HSETNX', base .. ':h', id, u.d) == 0 then
        duplicate[u.e] = true
        return
      end
      redis.call('ZADD', base .. ':z', u.t, id)
      touched[base] = rule
      if not maxT or u.t > maxT then newest[base] = u.t end

      local raw = redis.call('ZRANGEBYSCORE', base .. ':z', u.t - rule.horizon, u.t + rule.horizon, 'WITHSCORES')
      local ids, times = {}, {}
      for j = 1, #raw, 2 do
        if raw[j] ~= id then
          ids[#ids + 1] = raw[j]
          times[#times + 1] = tonumber(raw[j + 1])
        end
      end
      if #ids == 0 then return end
      local datas = redis.call('HMGET', base .. ':h', unpack(ids))
      local here = placeOf(u.d)
      local spans = {}
      for j = 1, #ids do
        local t, data = times[j], datas[j]
        if data and impossible(rule, here, u.t, placeOf(data), t) then
          local firstId, firstT, firstD, secondId, secondT, secondD = id, u.t, u.d, ids[j], t, data
          if before(t, ids[j], u.t, id) then
            firstId, firstT, firstD, secondId, secondT, secondD = ids[j], t, data, id, u.t, u.d
          end
          local span = math.floor(secondT / rule.suppress)
          if not spans[span] and not redis.call('ZSCORE', base .. ':f', span) then
            spans[span] = true
            local pair = { firstId, secondId }
            if p.maxIds < 2 then pair = { firstId } end
            fired[#fired + 1] = {
              r = u.r, e = u.e, g = u.g, b = span, ws = firstT, we = secondT, c = 2, ids = pair,
              d = '[' .. firstD .. ',' .. secondD .. ']',
            }
            recordFired(base, rule, span, newest[base])
          end
        end
      end
    end,

    finish = function()
      for base, rule in pairs(touched) do
        local z, h = base .. ':z', base .. ':h'
        local limit = keepFrom(newest[base], rule) - rule.horizon
        if limit > -math.huge then
          local old = redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. limit)
          if #old > 0 then
            redis.call('HDEL', h, unpack(old))
            redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. limit)
          end
        end
        local over = redis.call('ZCARD', z) - rule.maxEvents
        if over > 0 then
          local dropped = redis.call('ZPOPMIN', z, over)
          local gone = {}
          for j = 1, #dropped, 2 do gone[#gone + 1] = dropped[j] end
          redis.call('HDEL', h, unpack(gone))
        end
        redis.call('PEXPIRE', z, rule.ttl)
        redis.call('PEXPIRE', h, rule.ttl)
      end
    end,
  }
end
