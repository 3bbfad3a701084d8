-- Create a link: claim its code only if no link holds it (SET NX semantics for a whole hash),
-- and clear aggregates a previous holder of the code may have left, so a reused alias starts
-- at zero.
--
-- KEYS: linkpulse.contract.link_keys(code): link, stats, referrers, visitors.
-- ARGV: [1] expires_at in epoch ms ('' = never), then the link hash's field/value pairs.
-- Returns 1 if created, 0 if the code is taken.
--
-- Redis does not roll back a script that fails halfway, so HSET, the one command Redis may
-- refuse (out of memory), goes first: if it fails, nothing has changed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
