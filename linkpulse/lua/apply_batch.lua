#!lua
-- Apply one batch of click events together with its XACK.
--
-- Why Lua: the aggregates and the acknowledgement must change together or not at all, and
-- only for entries this consumer still owns at that instant. A worker killed before the
-- script runs leaves its entries pending (they are reclaimed and counted once, later); a
-- slow worker whose entries were reclaimed finds it no longer owns them and skips them.
-- Running the script twice is harmless for the same reason, so a client-side retry of a
-- call whose reply was lost cannot double count either.
--
-- Redis does not roll back a script that fails halfway, so this one checks everything that
-- could make a write fail before its first write: ownership, whether each link exists, and
-- the types of its aggregate keys. A link whose keys hold something else (damaged by hand,
-- say) is refused: its events are acknowledged and reported, never half counted. The
-- `#!lua` line makes Redis refuse the whole script up front when it is out of memory,
-- rather than failing at the first write.
--
-- All or nothing on ownership: if this consumer no longer owns some entries of the call,
-- the script writes nothing and returns their ids; the caller drops them ("skipped":
-- another consumer has them now) and calls again with the rest. Ownership never comes back
-- by itself, so that loop ends, and what gets applied is exactly the entries owned when the
-- successful run happened.
--
-- That lets Python total the batch per link beforehand, so the script works per link (one
-- EXISTS and type check, one HINCRBY per day, one ZINCRBY per referrer, one PFADD), and per
-- entry does nothing but the ownership check and the XACK. The script knows no key layout:
-- every key comes from linkpulse.contract through KEYS, every field name through ARGV.
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

-- Read every link's section of ARGV and decide what to do with it, writing nothing yet.
local function has_type(key, wanted)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == wanted
end
local function is_hyperloglog_or_none(key)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none'
    or (found == 'string' and redis.call('GETRANGE', key, 0, 3) == 'HYLL')
end

local position = last_id + 1
local malformed = tonumber(ARGV[position])
position = position + 1
local links = {}
for key = 2, #KEYS, 4 do
  local link = {key = key, created = ARGV[position], clicks = tonumber(ARGV[position + 1])}
  position = position + 1
  link.first_day = position + 2
  position = link.first_day + 2 * tonumber(ARGV[position + 1])
  link.first_referrer = position + 1
  position = link.first_referrer + 2 * tonumber(ARGV[position])
  link.first_visitor = position + 1
  position = link.first_visitor + tonumber(ARGV[position])
  link.last_visitor = position - 1
  -- A deleted link's events are acknowledged but not counted, so its keys stay deleted.
  if redis.call('EXISTS', KEYS[key]) == 0 then
    link.action = 'drop'
  elseif link.created ~= '' and not has_type(KEYS[key], 'hash') then
    link.action = 'refuse'
  elseif link.created ~= '' and redis.call('HGET', KEYS[key], created_field) ~= link.created then
    -- Clicks on an earlier link under this code, deleted since: not this link's to count.
    link.action = 'drop'
  elseif has_type(KEYS[key + 1], 'hash') and has_type(KEYS[key + 2], 'zset')
      and is_hyperloglog_or_none(KEYS[key + 3]) then
    link.action = 'count'
  else
    link.action = 'refuse'
  end
  links[#links + 1] = link
end

local applied, dropped, refused = 0, 0, {}
for number, link in ipairs(links) do
  if link.action == 'count' then
    local stats_key, referrers_key, visitors_key = KEYS[link.key + 1], KEYS[link.key + 2],
      KEYS[link.key + 3]
    redis.call('HINCRBY', stats_key, total_field, link.clicks)
    for i = link.first_day, link.first_referrer - 2, 2 do
      redis.call('HINCRBY', stats_key, ARGV[i], ARGV[i + 1])
    end
    for i = link.first_referrer, link.first_visitor - 2, 2 do
      redis.call('ZINCRBY', referrers_key, ARGV[i + 1], ARGV[i])
    end
    -- unpack() is bounded by the Lua C stack, hence the chunks of 1000.
    local last = link.last_visitor
    for first = link.first_visitor, last, 1000 do
      redis.call('PFADD', visitors_key, unpack(ARGV, first, math.min(first + 999, last)))
    end
    -- An expiring link's aggregates go when it goes, or they would outlive it for ever.
    local expires_at = redis.call('PEXPIRETIME', KEYS[link.key])
    if expires_at > 0 then
      redis.call('PEXPIREAT', stats_key, expires_at)
      redis.call('PEXPIREAT', referrers_key, expires_at)
      redis.call('PEXPIREAT', visitors_key, expires_at)
    end
    applied = applied + link.clicks
  else
    dropped = dropped + link.clicks
    if link.action == 'refuse' then
      refused[#refused + 1] = number
    end
  end
end

for first = first_id, last_id, 1000 do
  redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + 999, last_id)))
end
return {1, applied, dropped, malformed, refused}
