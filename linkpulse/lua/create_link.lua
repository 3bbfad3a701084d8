#!lua
-- Create a link: claim its code only if no link holds it (SET NX semantics for a whole hash),
-- count it against its creator's quota, and clear aggregates a previous holder of the code may
-- have left, so a reused alias starts at zero.
--
-- KEYS: linkpulse.contract.link_keys(code): link, stats, referrers, visitors; [5] the creator's
--       quota counter for this window (linkpulse.contract.create_quota_key).
-- ARGV: [1] expires_at in epoch ms ('' = never), [2] the link hash's token_hash field name,
--       [3] quota: links allowed per window (0 = no quota), [4] the quota window's length in ms,
--       [5] creates refused once used memory reaches this percentage of maxmemory (0 = never),
--       then the link hash's field/value pairs (they include the token hash).
-- Returns 1 if created, 0 if the code is taken, -1 if the quota is used up, -2 if Redis is too
-- full to take new links.
--
-- Idempotent: the token hash is unique to one create call, so a link that already holds it is
-- this very call's, created by an earlier try whose reply was lost (redis-py resends the same
-- script after a dropped connection). That try answers 1 again instead of "taken".
--
-- `#!lua` makes Redis refuse the whole script up front when it is out of memory, so nothing is
-- ever half written. The soft memory limit keeps creates well below maxmemory, leaving the rest
-- for what must keep working: redirects' click events, the worker, deletes.
local token_field = ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 1 then
  local token_hash
  for i = 6, #ARGV, 2 do
    if ARGV[i] == token_field then
      token_hash = ARGV[i + 1]
    end
  end
  if redis.call('HGET', KEYS[1], token_field) == token_hash then
    return 1
  end
  return 0
end
local memory_percent = tonumber(ARGV[5])
if memory_percent > 0 then
  local info = redis.call('INFO', 'memory')
  local maxmemory = tonumber(string.match(info, '\nmaxmemory:(%d+)'))
  local used = tonumber(string.match(info, '\nused_memory:(%d+)'))
  if maxmemory > 0 and used * 100 >= maxmemory * memory_percent then
    return -2
  end
end
local quota = tonumber(ARGV[3])
if quota > 0 then
  local used = tonumber(redis.call('GET', KEYS[5]) or '0')
  if used >= quota then
    return -1
  end
  if redis.call('INCR', KEYS[5]) == 1 then
    redis.call('PEXPIRE', KEYS[5], ARGV[4])
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[1] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
