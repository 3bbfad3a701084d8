#!lua flags=allow-oom
-- Apply one batch of click events together with its XACK.
--
-- Why Lua: the aggregates and the acknowledgement must change together or not at all, and
-- only for entries this consumer still owns at that instant. A worker killed before the
-- script runs leaves its entries pending (they are reclaimed and counted once, later); a
-- slow worker whose entries were reclaimed finds it no longer owns them and skips them.
-- Running the script twice is harmless for the same reason, so a client-side retry of a
-- call whose reply was lost cannot double count either.
--
-- Redis does not roll back a script that fails halfway, so this one checks what could make a
-- write fail before the write: ownership before anything, and per link, before that link's
-- first write, whether it exists and the types of its aggregate keys. A link whose keys hold
-- something else (damaged by hand, say) is refused: its events are acknowledged and
-- reported, never half counted.
--
-- allow-oom: the script runs, and its writes succeed, even when Redis is out of memory. The
-- pipeline must keep draining then: its XACKs let the worker trim the stream, which frees far
-- more than the few counter increments add, and a refused script would leave every event
-- pending for ever. (A script without the flag would be refused whole up front, never half.)
--
-- All or nothing on ownership: if this consumer no longer owns some entries of the call,
-- the script writes nothing and returns their ids; the caller drops them ("skipped":
-- another consumer has them now) and calls again with the rest. Ownership never comes back
-- by itself, so that loop ends, and what gets applied is exactly the entries owned when the
-- successful run happened.
--
-- That lets Python total the batch per link beforehand, so the script works per link (three
-- checks, one HINCRBY per day, one ZINCRBY per referrer, one PFADD), and per entry does
-- nothing but the ownership check and the XACK. Each check is one call answering a number or
-- a string (HGET, HLEN, ZCARD; TYPE answers a table, and took four calls and a GETRANGE per
-- link), and PFADD is the visitors key's check as well as its write: under redirect load a
-- batch holds few events per link, so per-link calls are nearly per-event costs there.
-- The script knows no key layout: every key comes from linkpulse.contract through KEYS,
-- every field name through ARGV.
--
-- KEYS: [1] the stream, then per link: link, stats, referrers, visitors.
-- ARGV: group, consumer, the stats hash's total-clicks field, the link hash's created_at field,
--       n, n entry ids, malformed count (entries among the ids that are acknowledged without
--       being counted), then per link, in KEYS order:
--       link created_at ('' = no check), clicks, d, d x (day field, clicks),
--       r, r x (referrer, clicks), v, v x visitor hash.
-- A link appears once per created_at its events carry: the clicks of a deleted link whose
-- alias was taken again are dropped, not counted for the new link.
-- Returns {1, applied, dropped, malformed, {refused link numbers}} after applying (refused
-- links' clicks are included in dropped), or {0, {ids not owned}} having written nothing.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local total_field, created_field = ARGV[3], ARGV[4]
local id_count = tonumber(ARGV[5])
local first_id, last_id = 6, 5 + id_count

-- One XPENDING listing of this consumer's entries usually answers for the whole call.
-- Only if COUNT cut it short (the consumer holds more than this call) is an id it does
-- not mention looked up on its own.
local listing = redis.call('XPENDING', stream, group, '-', '+', id_count, consumer)
local listed = {}
for _, row in ipairs(listing) do
  listed[row[1]] = true
end
local listing_complete = #listing < id_count
local not_owned = {}
for i = first_id, last_id do
  local id = ARGV[i]
  if not listed[id] and (listing_complete
      or #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0) then
    not_owned[#not_owned + 1] = id
  end
end
if #not_owned > 0 then
  return {0, not_owned}
end

-- Each link is checked, then written. The checks are pcalls answering with a number or a
-- string (a damaged key is an error reply, not a failed script), and the last one is the
-- link's first write: PFADD refuses a key that is not a HyperLogLog, and when it succeeds
-- nothing that follows for this link can fail (short of a counter field edited by hand into
-- something that is not a number). A refused link has written nothing.
local function is_error(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

local position = last_id + 1
local malformed = tonumber(ARGV[position])
position = position + 1
local applied, dropped, refused = 0, 0, {}
local number = 0
for key = 2, #KEYS, 4 do
  number = number + 1
  local link_key, stats_key, referrers_key, visitors_key = KEYS[key], KEYS[key + 1],
    KEYS[key + 2], KEYS[key + 3]
  local created, clicks = ARGV[position], tonumber(ARGV[position + 1])
  local first_day = position + 3
  local first_referrer = first_day + 2 * tonumber(ARGV[position + 2]) + 1
  local first_visitor = first_referrer + 2 * tonumber(ARGV[first_referrer - 1]) + 1
  local last_visitor = first_visitor + tonumber(ARGV[first_visitor - 1]) - 1
  position = last_visitor + 1

  local action = 'count'
  if created == '' then
    -- A deleted link's events are acknowledged but not counted, so its keys stay deleted.
    if redis.call('EXISTS', link_key) == 0 then
      action = 'drop'
    end
  else
    -- No hash (a deleted link), or another created_at (clicks on an earlier link under this
    -- code, deleted since): not this link's to count. A key of another type: refused.
    local found = redis.pcall('HGET', link_key, created_field)
    if is_error(found) then
      action = 'refuse'
    elseif found ~= created then
      action = 'drop'
    end
  end
  if action == 'count' and (is_error(redis.pcall('HLEN', stats_key))
      or is_error(redis.pcall('ZCARD', referrers_key))
      or is_error(redis.pcall('PFADD', visitors_key,
        unpack(ARGV, first_visitor, math.min(first_visitor + 999, last_visitor))))) then
    action = 'refuse'
  end

  if action == 'count' then
    -- unpack() is bounded by the Lua C stack, hence the chunks of 1000.
    for first = first_visitor + 1000, last_visitor, 1000 do
      redis.call('PFADD', visitors_key, unpack(ARGV, first, math.min(first + 999, last_visitor)))
    end
    redis.call('HINCRBY', stats_key, total_field, clicks)
    for i = first_day, first_referrer - 2, 2 do
      redis.call('HINCRBY', stats_key, ARGV[i], ARGV[i + 1])
    end
    for i = first_referrer, first_visitor - 2, 2 do
      redis.call('ZINCRBY', referrers_key, ARGV[i + 1], ARGV[i])
    end
    -- An expiring link's aggregates go when it goes, or they would outlive it for ever.
    local expires_at = redis.call('PEXPIRETIME', link_key)
    if expires_at > 0 then
      redis.call('PEXPIREAT', stats_key, expires_at)
      redis.call('PEXPIREAT', referrers_key, expires_at)
      redis.call('PEXPIREAT', visitors_key, expires_at)
    end
    applied = applied + clicks
  else
    dropped = dropped + clicks
    if action == 'refuse' then
      refused[#refused + 1] = number
    end
  end
end

for first = first_id, last_id, 1000 do
  redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + 999, last_id)))
end
return {1, applied, dropped, malformed, refused}
