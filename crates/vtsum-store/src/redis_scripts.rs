//! The Lua scripts of the Redis store: each write that touches several keys runs as one
//! script, so every client sees it whole. Every script takes the key prefix as `ARGV[1]`;
//! the key layout is described in `redis.rs`.

// ARGV: prefix, then hashes; answers each hash's entry (or false), in order.
pub const CACHE_GET_MANY: &str = r"
local p = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local id = redis.call('GET', p .. 'a:' .. ARGV[i])
  out[i - 1] = id and redis.call('GET', p .. 'c:' .. id) or false
end
return out";

// ARGV: prefix, hash; answers the file's compressed document and its entry (for a file
// cached before documents were kept), or false.
pub const CACHE_DOCUMENT: &str = r"
local p = ARGV[1]
local id = redis.call('GET', p .. 'a:' .. ARGV[2])
if not id then return false end
return {redis.call('GET', p .. 'd:' .. id) or '', redis.call('GET', p .. 'c:' .. id) or ''}";

// ARGV: prefix, then per entry: primary id, kind, entry JSON, compressed document (empty
// for none), the number of its hashes, and every hash of the entry.
// `c:stats` (found, unknown, bytes) is kept here once CACHE_STATS has counted it.
pub const CACHE_PUT_MANY: &str = r"
local p = ARGV[1]
local stats = p .. 'c:stats'
local counted = redis.call('EXISTS', stats) == 1
local function size(id)
  return redis.call('STRLEN', p .. 'c:' .. id) + redis.call('STRLEN', p .. 'd:' .. id)
end
local function uncount(set, id)
  if counted and redis.call('SISMEMBER', p .. 'c:' .. set, id) == 1 then
    redis.call('HINCRBY', stats, set, -1)
    redis.call('HINCRBY', stats, 'bytes', -size(id))
  end
end
local at = 2
while at <= #ARGV do
  local primary, kind, entry, doc = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local n = tonumber(ARGV[at + 4])
  local first, last = at + 5, at + 4 + n
  for i = first, last do
    local h = ARGV[i]
    if h ~= primary and redis.call('SISMEMBER', p .. 'c:unknown', h) == 1 then
      uncount('unknown', h)
      redis.call('DEL', p .. 'c:' .. h, p .. 'd:' .. h)
      redis.call('SREM', p .. 'c:unknown', h)
    end
  end
  uncount('found', primary)
  uncount('unknown', primary)
  if counted then
    redis.call('HINCRBY', stats, kind, 1)
    redis.call('HINCRBY', stats, 'bytes', string.len(entry) + string.len(doc))
  end
  redis.call('SET', p .. 'c:' .. primary, entry)
  if doc == '' then
    redis.call('DEL', p .. 'd:' .. primary)
  else
    redis.call('SET', p .. 'd:' .. primary, doc)
  end
  local other = kind == 'found' and 'unknown' or 'found'
  redis.call('SADD', p .. 'c:' .. kind, primary)
  redis.call('SREM', p .. 'c:' .. other, primary)
  for i = first, last do
    redis.call('SET', p .. 'a:' .. ARGV[i], primary)
    redis.call('SADD', p .. 'a:all', ARGV[i])
  end
  at = last + 1
end
return 1";

// Counts the cache once (a prefix filled before the counts were kept), then reads the
// counts CACHE_PUT and CACHE_CLEAR keep.
pub const CACHE_STATS: &str = r"
local p = ARGV[1]
local stats = p .. 'c:stats'
if redis.call('EXISTS', stats) == 0 then
  local bytes = 0
  for _, set in ipairs({'c:found', 'c:unknown'}) do
    for _, id in ipairs(redis.call('SMEMBERS', p .. set)) do
      bytes = bytes + redis.call('STRLEN', p .. 'c:' .. id) + redis.call('STRLEN', p .. 'd:' .. id)
    end
  end
  redis.call('HSET', stats, 'found', redis.call('SCARD', p .. 'c:found'),
    'unknown', redis.call('SCARD', p .. 'c:unknown'), 'bytes', bytes)
end
local v = redis.call('HMGET', stats, 'found', 'unknown', 'bytes')
return {tonumber(v[1]), tonumber(v[2]), tonumber(v[3])}";

pub const CACHE_CLEAR: &str = r"
local p = ARGV[1]
local n = 0
for _, set in ipairs({'c:found', 'c:unknown'}) do
  for _, id in ipairs(redis.call('SMEMBERS', p .. set)) do
    redis.call('DEL', p .. 'c:' .. id, p .. 'd:' .. id)
    n = n + 1
  end
  redis.call('DEL', p .. set)
end
for _, h in ipairs(redis.call('SMEMBERS', p .. 'a:all')) do
  redis.call('DEL', p .. 'a:' .. h)
end
redis.call('DEL', p .. 'a:all')
redis.call('HSET', p .. 'c:stats', 'found', 0, 'unknown', 0, 'bytes', 0)
return n";

// ARGV: prefix, id, spec, now, part size (0: not queued), hashes...
// A queued job's parts go into the work queue in the same step (see `redis_queue`).
pub const JOB_CREATE: &str = r"
local p, id, part = ARGV[1], ARGV[2], tonumber(ARGV[5])
local head = p .. 'j:' .. id
if redis.call('EXISTS', head) == 1 then return 0 end
local total = #ARGV - 5
redis.call('HSET', head, 'spec', ARGV[3], 'state', 'queued', 'created_at', ARGV[4],
  'updated_at', ARGV[4], 'total', total, 'done', 0, 'cache_hits', 0, 'errors', 0)
for i = 6, #ARGV, 1000 do
  redis.call('RPUSH', head .. ':h', unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
-- Scored by creation second, then creation order within it (a second holds < 1e6 jobs).
local seq = redis.call('INCR', p .. 'jobseq') % 1000000
redis.call('ZADD', p .. 'jobs', tonumber(ARGV[4]) * 1000000 + seq, id)
if part > 0 then
  for from = 0, total - 1, part do
    redis.call('XADD', p .. 'queue', '*', 'job', id, 'from', from,
      'to', math.min(from + part, total))
  end
end
return 1";

// ARGV: prefix, id, index, result JSON, cache hit (0/1), error (0/1), now.
pub const JOB_RECORD: &str = r"
local head = ARGV[1] .. 'j:' .. ARGV[2]
if redis.call('EXISTS', head) == 0 then return 0 end
if redis.call('HSETNX', head .. ':r', ARGV[3], ARGV[4]) == 0 then return 0 end
redis.call('HINCRBY', head, 'done', 1)
redis.call('HINCRBY', head, 'cache_hits', ARGV[5])
redis.call('HINCRBY', head, 'errors', ARGV[6])
redis.call('HSET', head, 'updated_at', ARGV[7])
return 1";

// ARGV: prefix, id, now, then per result: index, result JSON, from the cache (0/1), an
// error (0/1). JOB_RECORD for each, with the job's counters moved once; answers how many
// were new.
pub const JOB_RECORD_MANY: &str = r"
local head = ARGV[1] .. 'j:' .. ARGV[2]
if redis.call('EXISTS', head) == 0 then return 0 end
local done, hits, errors = 0, 0, 0
for i = 4, #ARGV, 4 do
  if redis.call('HSETNX', head .. ':r', ARGV[i], ARGV[i + 1]) == 1 then
    done = done + 1
    hits = hits + tonumber(ARGV[i + 2])
    errors = errors + tonumber(ARGV[i + 3])
  end
end
if done > 0 then
  redis.call('HINCRBY', head, 'done', done)
  redis.call('HINCRBY', head, 'cache_hits', hits)
  redis.call('HINCRBY', head, 'errors', errors)
  redis.call('HSET', head, 'updated_at', ARGV[3])
end
return done";

// ARGV: prefix, id, state, resumes_at ('' for none), error ('' for none), now.
pub const JOB_SET_STATE: &str = r"
local head = ARGV[1] .. 'j:' .. ARGV[2]
if redis.call('EXISTS', head) == 0 then return 0 end
redis.call('HSET', head, 'state', ARGV[3], 'updated_at', ARGV[6])
for i, field in ipairs({'resumes_at', 'error'}) do
  if ARGV[3 + i] == '' then redis.call('HDEL', head, field)
  else redis.call('HSET', head, field, ARGV[3 + i]) end
end
return 1";

pub const JOB_DELETE: &str = r"
local head = ARGV[1] .. 'j:' .. ARGV[2]
redis.call('ZREM', ARGV[1] .. 'jobs', ARGV[2])
return redis.call('DEL', head, head .. ':h', head .. ':r')";

// ARGV: prefix, hash, token, ttl ms. Taken when free or already this token's.
pub const CLAIM: &str = r"
local k = ARGV[1] .. 'claim:' .. ARGV[2]
local holder = redis.call('GET', k)
if holder and holder ~= ARGV[3] then return 0 end
redis.call('SET', k, ARGV[3], 'PX', ARGV[4])
return 1";

// ARGV: prefix, hash, token.
pub const UNCLAIM: &str = r"
local k = ARGV[1] .. 'claim:' .. ARGV[2]
if redis.call('GET', k) == ARGV[3] then redis.call('DEL', k) end
return 1";
