"""The Redis side of the limiter: two Lua scripts, each one atomic round trip.

Why our own Lua rather than the `limits` library: its moving window stores one list element per unit of
cost (a 4,000-token call would push 4,000 entries), each limit is hit on its own (no all-or-nothing over
key + team + target + budgets), and a past hit cannot be corrected (TPM refunds, budget settlement).
Here every rate limit is a hash of one-second buckets (at most 60 fields), so memory is bounded whatever
the limit, and admit checks every limit before it reserves any.

Integers that could exceed 32 bits are never formatted by Lua: the client passes costs and deltas as
strings, and Lua only adds them with HINCRBY. Time is Redis's own clock (TIME) unless a test passes one.
"""

from __future__ import annotations

_COMMON = """
local WINDOW = tonumber(ARGV[2])

local function now_ms()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fdiv(a, b) return math.floor(a / b) end

-- Howard Hinnant's civil calendar algorithms: UTC months without any date library.
local function month_index(ms)
  local z = fdiv(fdiv(ms, 1000), 86400) + 719468
  local era = fdiv(z, 146097)
  local doe = z - era * 146097
  local yoe = fdiv(doe - fdiv(doe, 1460) + fdiv(doe, 36524) - fdiv(doe, 146096), 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + fdiv(yoe, 4) - fdiv(yoe, 100))
  local mp = fdiv(5 * doy + 2, 153)
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y * 12 + m - 1
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = fdiv(y, 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = fdiv(153 * mp + 2, 5) + d - 1
  local doe = yoe * 365 + fdiv(yoe, 4) - fdiv(yoe, 100) + doy
  return era * 146097 + doe - 719468
end

local function period_index(code, ms)
  if code == 'bd' then return fdiv(fdiv(ms, 1000), 86400) end
  if code == 'bm' then return month_index(ms) end
  return 0
end

-- -1 for "total", which never ends.
local function period_end_ms(code, idx)
  if code == 'bd' then return (idx + 1) * 86400000 end
  if code == 'bm' then
    local n = idx + 1
    return days_from_civil(fdiv(n, 12), n % 12 + 1, 1) * 86400000
  end
  return -1
end
"""

# KEYS: [1] in-flight zset, [2..] one key per check.
# ARGV: now_ms or '', window_s, lease_ms, admission id, then per check: code, limit, cost.
#   code: 'r' rate window, 'c' concurrency, 'bd' / 'bm' / 'bt' budget per day / month / total.
# Returns: all_ok, now_ms, then per check: ok, remaining, reset_ms, retry_ms (-1 never), period index.
ADMIT = (
    _COMMON
    + """
local lease = tonumber(ARGV[3])
local id = ARGV[4]
local now = now_ms()
local now_s = fdiv(now, 1000)
local oldest = now_s - WINDOW + 1
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)

local function eval_rate(key, limit, cost)
  local flat = redis.call('HGETALL', key)
  local used, newest = 0, nil
  local buckets = {}
  for j = 1, #flat, 2 do
    local s, c = tonumber(flat[j]), tonumber(flat[j + 1])
    if s < oldest then
      redis.call('HDEL', key, flat[j])
    else
      used = used + c
      buckets[#buckets + 1] = {s, c}
      if c > 0 and (newest == nil or s > newest) then newest = s end
    end
  end
  if used + cost <= limit then
    local last = newest
    if cost > 0 then last = now_s end
    local reset = 0
    if last ~= nil then reset = (last + WINDOW) * 1000 - now end
    return {1, limit - used, reset, -1, 0}
  end
  local reset = 0
  if newest ~= nil then reset = (newest + WINDOW) * 1000 - now end
  local remaining = math.max(0, limit - used)
  if cost > limit then return {0, remaining, reset, -1, 0} end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local freed, retry = 0, reset
  for _, b in ipairs(buckets) do
    freed = freed + b[2]
    if used - freed + cost <= limit then
      retry = (b[1] + WINDOW) * 1000 - now
      break
    end
  end
  return {0, remaining, reset, retry, 0}
end

local function eval_slots(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local n = redis.call('ZCARD', key)
  if n + 1 > limit then
    local retry = -1
    if limit > 0 then retry = 1000 end
    return {0, limit - n, 0, retry, 0}
  end
  return {1, limit - n, 0, -1, 0}
end

local function eval_budget(key, code, limit)
  local idx = period_index(code, now)
  local stored = redis.call('HMGET', key, 'p', 'c')
  local committed = 0
  if stored[1] and tonumber(stored[1]) == idx then committed = tonumber(stored[2]) or 0 end
  local ends = period_end_ms(code, idx)
  local reset = 0
  if ends >= 0 then reset = ends - now end
  -- Admitted while under budget: a burst overshoots by at most one call's worst case.
  if committed >= limit then
    local retry = -1
    if ends >= 0 then retry = reset end
    return {0, math.max(0, limit - committed), reset, retry, idx}
  end
  return {1, limit - committed, reset, -1, idx}
end

local n = #KEYS - 1
local verdicts = {}
local all_ok = 1
for i = 1, n do
  local base = 4 + (i - 1) * 3
  local code, limit, cost = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local key = KEYS[i + 1]
  local v
  if code == 'r' then v = eval_rate(key, limit, cost)
  elseif code == 'c' then v = eval_slots(key, limit)
  else v = eval_budget(key, code, limit) end
  if v[1] == 0 then all_ok = 0 end
  verdicts[i] = v
end

if all_ok == 1 then
  for i = 1, n do
    local base = 4 + (i - 1) * 3
    local code, limit, cost = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
    local key = KEYS[i + 1]
    if code == 'r' then
      redis.call('HINCRBY', key, now_s, cost)
      redis.call('PEXPIRE', key, (WINDOW + 1) * 1000)
    elseif code == 'c' then
      redis.call('ZADD', key, now + lease, id)
      redis.call('PEXPIRE', key, lease + 1000)
    else
      local idx = verdicts[i][5]
      local stored = redis.call('HGET', key, 'p')
      if not stored or tonumber(stored) ~= idx then
        redis.call('HSET', key, 'p', idx, 'c', '0', 's', '0')
      end
      redis.call('HINCRBY', key, 'c', cost)
      redis.call('HSET', key, 'l', limit)
      local ends = period_end_ms(code, idx)
      if ends >= 0 then redis.call('PEXPIRE', key, ends - now + 86400000) end
    end
  end
  redis.call('ZADD', KEYS[1], now + lease, id)
  redis.call('PEXPIRE', KEYS[1], lease + 1000)
end

local out = {all_ok, now}
for i = 1, n do
  for j = 1, 5 do out[#out + 1] = verdicts[i][j] end
end
return out
"""
)

# KEYS: [1] in-flight zset, [2..] one key per check to correct.
# ARGV: now_ms or '', window_s, admission id, then per check: code, second or period, delta, actual.
#   code: 't' token window (delta = actual - reserved), 'c' slot, 'bd' / 'bm' / 'bt' budget.
# Returns 1 if corrected, 0 if already settled or its lease ran out (then the reservation stands).
SETTLE = (
    _COMMON
    + """
local id = ARGV[3]
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
local now = now_ms()
local now_s = fdiv(now, 1000)
for i = 2, #KEYS do
  local base = 3 + (i - 2) * 4
  local code, at, delta, actual = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3], ARGV[base + 4]
  local key = KEYS[i]
  if code == 'c' then
    redis.call('ZREM', key, id)
  elseif code == 't' then
    if at > now_s - WINDOW then
      if redis.call('HINCRBY', key, at, delta) < 0 then redis.call('HSET', key, at, '0') end
    elseif tonumber(delta) > 0 then
      -- The reservation has left the window: count what went beyond it now.
      redis.call('HINCRBY', key, now_s, delta)
      redis.call('PEXPIRE', key, (WINDOW + 1) * 1000)
    end
  else
    local stored = redis.call('HGET', key, 'p')
    local idx = period_index(code, now)
    if stored and tonumber(stored) == at and at == idx then
      if redis.call('HINCRBY', key, 'c', delta) < 0 then redis.call('HSET', key, 'c', '0') end
      redis.call('HINCRBY', key, 's', actual)
    else
      -- The period rolled over while the call ran: its cost counts where it ended.
      if not stored or tonumber(stored) ~= idx then
        redis.call('HSET', key, 'p', idx, 'c', '0', 's', '0')
        local ends = period_end_ms(code, idx)
        if ends >= 0 then redis.call('PEXPIRE', key, ends - now + 86400000) end
      end
      redis.call('HINCRBY', key, 'c', actual)
      redis.call('HINCRBY', key, 's', actual)
    end
  end
end
return 1
"""
)

# KEYS: budget hashes of one scope for day, month, total. ARGV: now_ms or '', window_s (unused).
# Returns per period: current index, stored index (-1 none), committed, spent, limit (-1 none).
SPEND = (
    _COMMON
    + """
local now = now_ms()
local codes = {'bd', 'bm', 'bt'}
local out = {}
for i = 1, 3 do
  local stored = redis.call('HMGET', KEYS[i], 'p', 'c', 's', 'l')
  out[#out + 1] = period_index(codes[i], now)
  out[#out + 1] = tonumber(stored[1]) or -1
  out[#out + 1] = tonumber(stored[2]) or 0
  out[#out + 1] = tonumber(stored[3]) or 0
  out[#out + 1] = tonumber(stored[4]) or -1
end
return out
"""
)
