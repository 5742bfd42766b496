//! Shared quotas in Redis: each key's sliding windows are sorted sets of its leases, scored
//! by when each frees (while in flight: a hold that outlives a crashed process; once
//! answered: one window after the answer). One Lua script checks every window and the
//! day and records the lease, so any number of processes on any number of hosts stay
//! within the limits together. Times come from the Redis server's clock (`TIME`), so the
//! hosts' clocks do not matter.

use vtsum_core::store::{QuotaRequest, SharedGrant};

/// How long a process blocked by another's request in flight waits before asking again:
/// that request's end is not known in advance.
pub const POLL_MS: u64 = 25;

// ARGV: prefix, key id, cost, hold ms, token, day, daily limit ('' = none), poll ms,
// then (limit, length ms) for each window.
pub const ACQUIRE: &str = r"
local p, key, cost, hold, token = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local day, daily, poll = ARGV[6], ARGV[7], tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = -1
for i = 9, #ARGV, 2 do
  local limit, len = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local z = p .. 'q:' .. key .. ':' .. ARGV[i + 1]
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  if redis.call('ZCARD', z) + cost > limit then
    local first = tonumber(redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')[2])
    local w = first - now
    -- A lease still in flight frees when its answer comes, which nobody knows yet.
    if first > now + len then w = poll end
    if w > wait then wait = w end
  end
end
if wait >= 0 then return {0, wait} end
local ledger = p .. 'ledger:' .. day
if daily ~= '' then
  local left = tonumber(daily) - tonumber(redis.call('HGET', ledger, key) or '0')
  if left <= 0 then return {2, 0} end
  if left < cost then cost = left end
end
for i = 9, #ARGV, 2 do
  local len = tonumber(ARGV[i + 1])
  local z = p .. 'q:' .. key .. ':' .. ARGV[i + 1]
  for j = 1, cost do redis.call('ZADD', z, now + hold + len, token .. ':' .. j) end
  redis.call('PEXPIRE', z, hold + len + 1000)
end
redis.call('HINCRBY', ledger, key, cost)
redis.call('EXPIRE', ledger, 40 * 86400)
return {1, cost}";

// ARGV: prefix, key id, cost, token, then each window's length in ms.
pub const RELEASE: &str = r"
local p, key, cost, token = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 5, #ARGV do
  local z = p .. 'q:' .. key .. ':' .. ARGV[i]
  for j = 1, cost do
    redis.call('ZADD', z, 'XX', now + tonumber(ARGV[i]), token .. ':' .. j)
  end
end
return 1";

/// The script arguments (after the prefix) of an acquisition.
pub fn acquire_args(req: &QuotaRequest<'_>) -> Vec<String> {
    let mut args = vec![
        req.key.0.clone(),
        req.cost.to_string(),
        req.hold.as_millis().to_string(),
        req.token.to_string(),
        req.day.to_string(),
        req.daily.map(|d| d.to_string()).unwrap_or_default(),
        POLL_MS.to_string(),
    ];
    for (limit, length) in req.windows {
        args.push(limit.to_string());
        args.push(length.as_millis().to_string());
    }
    args
}

/// The script arguments (after the prefix) of a release.
pub fn release_args(req: &QuotaRequest<'_>) -> Vec<String> {
    let mut args = vec![
        req.key.0.clone(),
        req.cost.to_string(),
        req.token.to_string(),
    ];
    args.extend(req.windows.iter().map(|(_, l)| l.as_millis().to_string()));
    args
}

/// Reads the acquisition script's answer: (1, units granted), (2, _) for a spent day,
/// else (0, milliseconds to wait).
pub fn grant((code, wait): (i64, i64)) -> SharedGrant {
    match code {
        1 => SharedGrant::Granted(wait.max(0) as u32),
        2 => SharedGrant::DayOut,
        _ => SharedGrant::WaitMs(wait.max(1) as u64),
    }
}
