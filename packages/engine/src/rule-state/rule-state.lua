-- Applies one batch of rule-state updates atomically: one round trip per batch, whatever kinds
-- of rules it touches. Each kind's handler is included below (see rule-state.script.ts, which
-- composes this file with the handlers of every registered kind).
--
-- KEYS[1]   the batch's result key: a retried batch returns its first result unchanged
-- ARGV[1]   JSON payload (redis-rule-state.store.ts):
--           prefix, seenTtl, batchTtl, maxIds, eventIds[], sources[]?, groups[],
--           rules[]   { kind, key, ...params }
--           updates[] { r = rule, e = event, g = group (index into groups), t = time ms, l = lag ms?,
--                       v = value?, s = steps?, d = data? (its position k: the string ARGV[1 + k]) }
-- Returns (and caches) JSON { fired = [...], late = [[r, e]...], duplicates = [e...] (the events
--                            already counted), forgotten = [[r, values forgotten]...] }.
-- With ARGV payload `advance = { source, mark }` (a watermark job) instead of updates: applies
-- the mark (source-progress.lua), lets each rule of `rules` that decides on watermarks decide,
-- and returns (and caches) { progress = { seq, delivered?, bound? }, fired = [...] }.
--
-- A rule's state lives under prefix .. 'rs:' .. rule.key .. ':' .. group .. ':' .. part. Every
-- key shares the prefix's hash tag (one rule-state shard's), so the script stays on one Redis
-- Cluster slot; the store calls it once per shard a batch touches, each with that shard's prefix.

local cached = redis.call('GET', KEYS[1])
if cached then return cached end

-- A whole number as text, for Redis arguments and members. Redis writes a Lua number argument
-- with %.17g and Lua concatenates one with %.14g, each ~3,000 instructions (callgrind); %d takes a
-- tenth of that. Event times, deadlines, spans and TTLs are whole milliseconds; anything else
-- (infinities) is left as it is.
local format = string.format
local function int(n)
  if n % 1 == 0 and n > -9007199254740992 and n < 9007199254740992 then return format('%d', n) end
  return n
end

local p = cjson.decode(ARGV[1])
local eventIds = p.eventIds
local fired, late, duplicate, forgottenValues = {}, {}, {}, {}
local kinds = {}

-- The base of one rule and group's keys.
local function stateBase(rule, group)
  return p.prefix .. 'rs:' .. rule.key .. ':' .. group
end

-- Lateness: an update is refused as late iff its lag (how far its event lay behind the newest
-- event its source had delivered before it) is beyond the rule's lateness: a fact of the
-- source's order, the same whatever order batches are applied in.
local function isLate(rule, u)
  return u.l ~= nil and u.l > rule.lateness
end

local clockMs = nil
-- Wall-clock milliseconds (TIME), read once per call.
local function nowMs()
  if clockMs == nil then
    local clock = redis.call('TIME')
    clockMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  end
  return clockMs
end

-- Sources' progress (source-progress.lua keeps it): per source, the newest event time delivered
-- up to its last mark applied in order ('-inf' while a source has batches but no mark yet), its
-- own bound, and, while a reset of it waits to be applied in order, a cap (src:r). A batch
-- registers its sources. Every event still to be applied is then no older than, for each source,
-- min(max(delivered - lateness, bound), cap) if it is accepted at all.
if p.sources then
  for _, source in ipairs(p.sources) do
    if redis.call('HSETNX', p.prefix .. 'src:d', source, '-inf') == 1 then
      redis.call('HSETNX', p.prefix .. 'src:at', source, nowMs())
    end
  end
end
local sources = nil -- name -> { d = delivered, b = bound, c = cap }, read once per call
local function loadSources()
  if sources == nil then
    sources = {}
    local delivered = redis.call('HGETALL', p.prefix .. 'src:d')
    local caps = redis.call('HGETALL', p.prefix .. 'src:r')
    local capOf = {}
    for i = 1, #caps, 2 do capOf[caps[i]] = tonumber(cjson.decode(caps[i + 1]).at) end
    for i = 1, #delivered, 2 do
      local d = tonumber(delivered[i + 1]) or -math.huge
      local b = tonumber(redis.call('HGET', p.prefix .. 'src:b', delivered[i])) or -math.huge
      sources[delivered[i]] = { d = d, b = b, c = capOf[delivered[i]] or math.huge }
    end
  end
  return sources
end
-- A source's floor for this lateness: no accepted event below it is still to come from it.
local function sourceFloor(s, lateness)
  return math.min(math.max(s.d - lateness, s.b), s.c)
end
local floorOf = {}
-- The lowest event time an accepted event still to be applied can have, for this lateness (false: no source known).
local function acceptedFloor(lateness)
  if floorOf[lateness] ~= nil then return floorOf[lateness] end
  local floor = false
  for _, s in pairs(loadSources()) do
    local f = sourceFloor(s, lateness)
    if floor == false or f < floor then floor = f end
  end
  floorOf[lateness] = floor
  return floor
end

-- Whether the rule names the sources it reads (the engine derives them from the configured
-- sources its conditions allow, or the rule lists them); else it reads every source known.
local function listsSources(rule)
  return rule.sourcesKnown or (rule.sources ~= nil and #rule.sources > 0)
end

local watermarkOf = {}
-- A rule's watermark: no event it accepts from its sources is still to come below it.
-- -math.huge while one of its sources has not been heard of (or, reading every source known, none
-- is known); math.huge when no configured source can deliver its events.
local function ruleWatermark(rule)
  if watermarkOf[rule] ~= nil then return watermarkOf[rule] end
  local known = loadSources()
  local names = rule.sources
  if not listsSources(rule) then
    names = {}
    for name in pairs(known) do names[#names + 1] = name end
    if #names == 0 then return -math.huge end
  end
  local w = math.huge
  for _, name in ipairs(names) do
    local s = known[name]
    if not s then
      w = -math.huge
      break
    end
    local f = sourceFloor(s, rule.lateness)
    if f < w then w = f end
  end
  watermarkOf[rule] = w
  return w
end
local function forgetSources()
  sources, floorOf, watermarkOf = nil, {}, {}
end

-- The event time from which a rule's group state must be kept: every event still to be applied
-- to it (if accepted) is at least this recent. The group's newest minus the lateness, lowered to
-- the rule's watermark (a rule reading every source known: the floor over them; none known: not
-- lowered, right when batches come in their source's order). -math.huge: keep everything.
local function keepFrom(newest, rule)
  local from = newest - rule.lateness
  local floor
  if listsSources(rule) then floor = ruleWatermark(rule) else floor = acceptedFloor(rule.lateness) end
  if floor and floor < from then from = floor end
  return from
end

-- Decisions taken on watermarks are bounded per call (p.budget entries); `more` tells the engine
-- to call again.
local budget = p.budget or 250
local more = false
local function takeBudget(n)
  budget = budget - n
end

-- A command over many arguments (`width` of them per item), sent in slices: Lua's stack bounds unpack.
local function callSliced(command, key, args, width)
  local slice = 1000 * (width or 1)
  for i = 1, #args, slice do
    redis.call(command, key, unpack(args, i, math.min(#args, i + slice - 1)))
  end
end

-- HMGET of many fields, in slices: the values in the fields' order (false where a field is missing).
local function hashValues(key, fields)
  local values = {}
  for i = 1, #fields, 1000 do
    local got = redis.call('HMGET', key, unpack(fields, i, math.min(#fields, i + 999)))
    for j = 1, #got do values[i + j - 1] = got[j] end
  end
  return values
end

-- ZREMRANGEBYSCORE below `limit` (exclusive), unless the limit is -inf.
local function trimBelow(key, limit)
  if limit > -math.huge then redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. int(limit)) end
end

-- A windowed kind's newest event time in a group (`cache`: the kind's table for this call), read
-- from the group's events zset once per call; false when the group has none.
local function newestIn(cache, base)
  local t = cache[base]
  if t == nil then
    local top = redis.call('ZRANGE', base .. ':z', -1, -1, 'WITHSCORES')
    t = tonumber(top[2]) or false
    cache[base] = t
  end
  return t
end

-- Records that a group fired in suppress span `span`. Fired spans are kept only while an
-- accepted event could still fall into them.
local function recordFired(base, rule, span, newest)
  local s = int(span)
  redis.call('ZADD', base .. ':f', s, s)
  trimBelow(base .. ':f', math.floor(keepFrom(newest, rule) / rule.suppress))
  redis.call('PEXPIRE', base .. ':f', int(rule.ttl))
end

--- @include "./source-progress.lua"

--- @kinds

local result
if p.advance then
  -- A source's mark (a watermark job): applied in seq order, then every rule that decides on
  -- watermarks (absence) decides what its watermark now allows.
  local progress = advanceSource(p.advance.source, p.advance.mark)
  forgetSources()
  for ri, rule in ipairs(p.rules) do
    local kind = kinds[rule.kind]
    if kind.decide then kind.decide(rule, ri, ruleWatermark(rule)) end
  end
  result = cjson.encode({ progress = progress, fired = fired, more = more })
else
  local touchedKinds = {}
  local updates, rules = p.updates, p.rules
  local groups = p.groups
  for ui = 1, #updates do
    local u = updates[ui]
    u.g = groups[u.g]
    if u.d then u.d = ARGV[1 + u.d] end
    local rule = rules[u.r]
    local kind = kinds[rule.kind]
    touchedKinds[rule.kind] = kind
    kind.update(rule, u)
  end
  for _, kind in pairs(touchedKinds) do
    if kind.finish then kind.finish() end
  end

  local duplicates = {}
  for e in pairs(duplicate) do duplicates[#duplicates + 1] = e end
  result = cjson.encode({ fired = fired, late = late, duplicates = duplicates, forgotten = forgottenValues })
end
redis.call('SET', KEYS[1], result, 'PX', int(p.batchTtl))
return result
