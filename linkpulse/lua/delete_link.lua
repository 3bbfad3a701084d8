#!lua flags=allow-oom
-- Delete a link and its aggregates, only if it still has the token hash the caller checked.
--
-- The caller reads the token hash, compares the presented token with it in constant time,
-- then calls this: compare-and-delete in one step, so a link deleted and created again under
-- the same alias in between is never deleted by the old link's owner.
--
-- allow-oom: deleting is how an owner frees space, so it must work when Redis is out of
-- memory. A MULTI/EXEC (or WATCH) transaction would not: Redis refuses to queue commands
-- then. The script only deletes, so it cannot take Redis further over its limit.
--
-- KEYS: linkpulse.contract.link_keys(code): link, stats, referrers, visitors.
-- ARGV: [1] the link hash's token_hash field name, [2] the token hash checked.
-- Returns 1 if deleted, 0 if the link is gone or holds another token hash now.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
