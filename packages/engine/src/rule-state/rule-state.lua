-- Applies one batch of rule-state updates atomically: one round trip per batch, whatever kinds
-- of rules it touches. Each kind's handler is included below (see rule-state.script.ts, which
-- composes this file with the handlers of every registered kind).
--
-- KEYS[1]   the batch's result key: a retried batch returns its first result unchanged
-- ARGV[1]   JSON payload (redis-rule-state.store.ts):
--           prefix, seenTtl, batchTtl, maxIds, eventIds[],
--           rules[]   { kind, key, ...params }
--           updates[] { r = rule, e = event, g = group, t = time ms, v = value?, s = steps? }
-- Returns (and caches) JSON { fired = [...], late = [[r, e]...], duplicates = n,
--                            forgotten = [[r, values forgotten]...] }.
--
-- A rule's state lives under prefix .. 'rs:' .. rule.key .. ':' .. group .. ':' .. part. Every
-- key shares the keyspace's hash tag, so the script stays on one Redis Cluster slot.

local cached = redis.call('GET', KEYS[1])
if cached then return cached end

local p = cjson.decode(ARGV[1])
local eventIds = p.eventIds
local fired, late, duplicate, forgottenValues = {}, {}, {}, {}
local kinds = {}

-- The base of one rule and group's keys.
local function stateBase(rule, group)
  return p.prefix .. 'rs:' .. rule.key .. ':' .. group
end

--- @kinds

local touchedKinds = {}
local updates, rules = p.updates, p.rules
for ui = 1, #updates do
  local u = updates[ui]
  local rule = rules[u.r]
  local kind = kinds[rule.kind]
  touchedKinds[rule.kind] = kind
  kind.update(rule, u)
end
for _, kind in pairs(touchedKinds) do
  if kind.finish then kind.finish() end
end

local duplicates = 0
for _ in pairs(duplicate) do duplicates = duplicates + 1 end

local result = cjson.encode({ fired = fired, late = late, duplicates = duplicates, forgotten = forgottenValues })
redis.call('SET', KEYS[1], result, 'PX', p.batchTtl)
return result
