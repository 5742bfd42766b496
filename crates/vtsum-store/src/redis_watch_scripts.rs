//! The Lua scripts of the Redis watchlists (`redis_watch`): each step that touches several
//! keys is one script, so two processes never see half of it. Every script takes the key
//! prefix as `ARGV[1]`. Items are JSON (`ItemState` in `redis_watch`), read here with
//! Redis's own `cjson`; a member of the due set is `<list>|<key>` (a list's name has no
//! `|`, so the first one splits it).

// ARGV: prefix, list, now, then per item: key, item JSON. Answers how many were new, or
// -1 when the list does not exist.
pub const ADD: &str = r"
local p, name, now = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', p .. 'w:lists', name) == 0 then return -1 end
local added = 0
for i = 4, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('HSETNX', p .. 'w:i:' .. name, key, ARGV[i + 1]) == 1 then
    added = added + 1
    redis.call('ZADD', p .. 'w:n:' .. name, redis.call('INCR', p .. 'w:seq'), key)
    redis.call('ZADD', p .. 'w:due', now, name .. '|' .. key)
  end
end
return added";

// ARGV: prefix, list, then keys. Answers how many were on the list.
pub const REMOVE: &str = r"
local p, name = ARGV[1], ARGV[2]
local removed = 0
for i = 3, #ARGV do
  local key = ARGV[i]
  if redis.call('HDEL', p .. 'w:i:' .. name, key) == 1 then
    removed = removed + 1
    redis.call('ZREM', p .. 'w:n:' .. name, key)
    redis.call('ZREM', p .. 'w:due', name .. '|' .. key)
    redis.call('HDEL', p .. 'w:cl:' .. name, key)
    redis.call('DEL', p .. 'w:h:' .. name .. '|' .. key)
  end
end
return removed";

// ARGV: prefix, list JSON, list, every, every_unknown. Writes the list and moves each
// answered item's place in the due set to its answer plus the new interval (or its claim,
// when that is later).
pub const PUT: &str = r"
local p, json, name = ARGV[1], ARGV[2], ARGV[3]
local every, every_unknown = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', p .. 'w:lists', name, json)
local items = redis.call('HGETALL', p .. 'w:i:' .. name)
for i = 1, #items, 2 do
  local key, s = items[i], cjson.decode(items[i + 1])
  if s.answered_at then
    local unknown = s.last and s.last.verdict == 'unknown'
    local due = s.answered_at + (unknown and every_unknown or every)
    local claim = tonumber(redis.call('HGET', p .. 'w:cl:' .. name, key) or '0')
    redis.call('ZADD', p .. 'w:due', math.max(due, claim), name .. '|' .. key)
  end
end
return 1";

// ARGV: prefix, list. Answers 1 when it existed.
pub const DELETE: &str = r"
local p, name = ARGV[1], ARGV[2]
if redis.call('HDEL', p .. 'w:lists', name) == 0 then return 0 end
for _, key in ipairs(redis.call('HKEYS', p .. 'w:i:' .. name)) do
  redis.call('ZREM', p .. 'w:due', name .. '|' .. key)
  redis.call('DEL', p .. 'w:h:' .. name .. '|' .. key)
end
redis.call('DEL', p .. 'w:i:' .. name, p .. 'w:n:' .. name, p .. 'w:cl:' .. name)
redis.call('HDEL', p .. 'w:last', name)
local stats = p .. 'w:d:stats'
for _, id in ipairs(redis.call('SMEMBERS', p .. 'w:c:l:' .. name)) do
  redis.call('HDEL', p .. 'w:c', id)
  redis.call('ZREM', p .. 'w:c:at', id)
  for _, d in ipairs(redis.call('LRANGE', p .. 'w:d:c:' .. id, 0, -1)) do
    local raw = redis.call('HGET', p .. 'w:d', d)
    if raw then
      local s = cjson.decode(raw)
      if s.delivered_at then
        redis.call('HINCRBY', stats, 'delivered', -1)
      else
        redis.call('HINCRBY', stats, 'pending', -1)
        if s.attempts > 0 then redis.call('HINCRBY', stats, 'failing', -1) end
      end
    end
    redis.call('HDEL', p .. 'w:d', d)
    redis.call('ZREM', p .. 'w:d:due', d)
  end
  redis.call('DEL', p .. 'w:d:c:' .. id)
end
redis.call('DEL', p .. 'w:c:l:' .. name)
return 1";

// ARGV: prefix, list. Answers key, item JSON, … in the order they were added.
pub const ITEMS: &str = r"
local p, name = ARGV[1], ARGV[2]
local out = {}
for _, key in ipairs(redis.call('ZRANGE', p .. 'w:n:' .. name, 0, -1)) do
  local item = redis.call('HGET', p .. 'w:i:' .. name, key)
  if item then
    out[#out + 1] = key
    out[#out + 1] = item
  end
end
return out";

// ARGV: prefix, now, until, limit. Claims the most overdue unclaimed items by moving
// them to `until` in the due set; answers list, key, item JSON, … of each.
pub const CLAIM: &str = r"
local p, now, untl, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
local due = redis.call('ZRANGEBYSCORE', p .. 'w:due', '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(due) do
  local bar = string.find(m, '|', 1, true)
  local name, key = string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
  local item = redis.call('HGET', p .. 'w:i:' .. name, key)
  if item then
    redis.call('ZADD', p .. 'w:due', untl, m)
    redis.call('HSET', p .. 'w:cl:' .. name, key, untl)
    out[#out + 1] = name
    out[#out + 1] = key
    out[#out + 1] = item
  else
    redis.call('ZREM', p .. 'w:due', m)
  end
end
return out";

// ARGV: prefix, list, key, the version read, new item JSON, history entry JSON, due,
// now, change id ('' for none), change JSON, then hooks. Answers 1 when recorded, 0 when
// the item is gone, -1 when another process recorded it since it was read.
pub const RECORD: &str = r"
local p, name, key, v = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now, change = tonumber(ARGV[8]), ARGV[9]
local cur = redis.call('HGET', p .. 'w:i:' .. name, key)
if not cur then return 0 end
if (cjson.decode(cur).v or 0) ~= v then return -1 end
local member = name .. '|' .. key
redis.call('HSET', p .. 'w:i:' .. name, key, ARGV[5])
redis.call('RPUSH', p .. 'w:h:' .. member, ARGV[6])
redis.call('ZADD', p .. 'w:due', ARGV[7], member)
redis.call('HDEL', p .. 'w:cl:' .. name, key)
local last = tonumber(redis.call('HGET', p .. 'w:last', name) or '0')
if now > last then redis.call('HSET', p .. 'w:last', name, now) end
if change == '' then return 1 end
redis.call('HSET', p .. 'w:c', change, ARGV[10])
redis.call('ZADD', p .. 'w:c:at', now, change)
redis.call('SADD', p .. 'w:c:l:' .. name, change)
for i = 11, #ARGV do
  local d = redis.call('INCR', p .. 'w:d:seq')
  local state = cjson.encode({change = tonumber(change), hook = ARGV[i], attempts = 0})
  redis.call('HSET', p .. 'w:d', d, state)
  redis.call('ZADD', p .. 'w:d:due', now, d)
  redis.call('RPUSH', p .. 'w:d:c:' .. change, d)
  redis.call('HINCRBY', p .. 'w:d:stats', 'pending', 1)
end
return 1";

// ARGV: prefix, since, limit. Answers the JSON of changes at or after `since`.
pub const CHANGES: &str = r"
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'w:c:at', ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local c = redis.call('HGET', p .. 'w:c', id)
  if c then out[#out + 1] = c end
end
return out";

// ARGV: prefix, now, until, limit, then hooks. Claims due deliveries for those hooks by
// moving them to `until`; answers id, state JSON, change JSON, … of each.
pub const OUTBOX_CLAIM: &str = r"
local p, now, untl, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local hooks = {}
for i = 5, #ARGV do hooks[ARGV[i]] = true end
local out, taken = {}, 0
for _, d in ipairs(redis.call('ZRANGEBYSCORE', p .. 'w:d:due', '-inf', now)) do
  if taken >= limit then break end
  local raw = redis.call('HGET', p .. 'w:d', d)
  local s = raw and cjson.decode(raw)
  local change = s and redis.call('HGET', p .. 'w:c', tostring(s.change))
  if not change then
    redis.call('ZREM', p .. 'w:d:due', d)
  elseif hooks[s.hook] then
    redis.call('ZADD', p .. 'w:d:due', untl, d)
    out[#out + 1] = d
    out[#out + 1] = raw
    out[#out + 1] = change
    taken = taken + 1
  end
end
return out";

// ARGV: prefix, id, now, retry_at ('' when delivered), error. A delivery that was
// accepted (no retry) or failed; a delivered one is never touched again.
pub const OUTBOX_SETTLE: &str = r"
local p, d, now, retry = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local raw = redis.call('HGET', p .. 'w:d', d)
if not raw then return 0 end
local s = cjson.decode(raw)
if s.delivered_at then return 0 end
local stats = p .. 'w:d:stats'
local failing = s.attempts > 0
s.attempts = s.attempts + 1
if retry == '' then
  s.delivered_at = now
  s.last_error = nil
  redis.call('ZREM', p .. 'w:d:due', d)
  redis.call('HINCRBY', stats, 'pending', -1)
  redis.call('HINCRBY', stats, 'delivered', 1)
  if failing then redis.call('HINCRBY', stats, 'failing', -1) end
else
  s.last_error = ARGV[5]
  redis.call('ZADD', p .. 'w:d:due', retry, d)
  if not failing then redis.call('HINCRBY', stats, 'failing', 1) end
end
redis.call('HSET', p .. 'w:d', d, cjson.encode(s))
return 1";

// ARGV: prefix, change id. Answers id, state JSON, … of the change's deliveries.
pub const OUTBOX_OF: &str = r"
local p = ARGV[1]
local out = {}
for _, d in ipairs(redis.call('LRANGE', p .. 'w:d:c:' .. ARGV[2], 0, -1)) do
  local raw = redis.call('HGET', p .. 'w:d', d)
  if raw then
    out[#out + 1] = d
    out[#out + 1] = raw
  end
end
return out";

// ARGV: prefix, day, cap, want (a reservation), or prefix, day, '', n (a refund). Answers
// the day's count before, and what was granted.
pub const RESERVE: &str = r"
local p, day = ARGV[1], ARGV[2]
local before = tonumber(redis.call('HGET', p .. 'w:spent', day) or '0')
if ARGV[3] == '' then
  redis.call('HSET', p .. 'w:spent', day, math.max(before - tonumber(ARGV[4]), 0))
  return {before, 0}
end
local granted = math.max(math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) - before), 0)
redis.call('HINCRBY', p .. 'w:spent', day, granted)
return {before, granted}";
