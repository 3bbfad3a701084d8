"""The Lua script that applies one batch of click events together with its XACK.

Why Lua: the aggregates and the acknowledgement must change together or not at all, and
only for entries this consumer still owns at that instant. A worker killed before the
script runs leaves its entries pending (they are reclaimed and counted once, later); a
slow worker whose entries were reclaimed finds it no longer owns them and skips them.
Running the script twice is harmless for the same reason, so a client-side retry of a
call whose reply was lost cannot double count either.

All or nothing: the script first checks that this consumer owns every entry of the call.
If it does not, the script writes nothing and returns the ids it no longer owns; the
caller drops them (they are "skipped": another consumer has them now) and calls again
with the rest. Ownership never comes back by itself, so that loop ends, and what gets
applied is exactly the entries owned when the successful run happened.

This lets Python total the batch per link beforehand, so the script only does work per
link (one EXISTS, one HINCRBY per day, one ZINCRBY per referrer, one PFADD) and per entry
nothing but the ownership check and the XACK. The script knows no key layout: every key
comes from linkpulse.contract through KEYS.

KEYS: [1] the stream, then per link: link, stats, referrers, visitors.
ARGV: group, consumer, total-clicks field, n, n entry ids, malformed count (entries among
      the ids that are acknowledged without being counted), then per link, in KEYS order:
      clicks, d, d x (day field, clicks), r, r x (referrer, clicks), v, v x visitor hash.
Returns {1, applied, dropped, malformed} after applying, or {0, {ids not owned}}.
"""

from __future__ import annotations

APPLIED = 1
NOT_OWNED = 0

APPLY_BATCH_LUA = """
local stream, group, consumer, total_field = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local id_count = tonumber(ARGV[4])
local first_id, last_id = 5, 4 + id_count

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

local position = last_id + 1
local function next_arg()
  position = position + 1
  return ARGV[position - 1]
end

local malformed = tonumber(next_arg())
local applied, dropped = 0, 0
for key = 2, #KEYS, 4 do
  local stats_key, referrers_key, visitors_key = KEYS[key + 1], KEYS[key + 2], KEYS[key + 3]
  -- A deleted link's events are acknowledged but not counted, so its keys stay deleted.
  local link_exists = redis.call('EXISTS', KEYS[key]) == 1
  local clicks = next_arg()
  if link_exists then
    redis.call('HINCRBY', stats_key, total_field, clicks)
    applied = applied + clicks
  else
    dropped = dropped + clicks
  end
  for _ = 1, tonumber(next_arg()) do
    local day, day_clicks = next_arg(), next_arg()
    if link_exists then
      redis.call('HINCRBY', stats_key, day, day_clicks)
    end
  end
  for _ = 1, tonumber(next_arg()) do
    local referrer, referrer_clicks = next_arg(), next_arg()
    if link_exists then
      redis.call('ZINCRBY', referrers_key, referrer_clicks, referrer)
    end
  end
  -- unpack() is bounded by the Lua C stack, hence the chunks of 1000.
  local visitor_count = tonumber(next_arg())
  local first_visitor, last_visitor = position, position + visitor_count - 1
  position = last_visitor + 1
  if link_exists then
    for first = first_visitor, last_visitor, 1000 do
      redis.call('PFADD', visitors_key, unpack(ARGV, first, math.min(first + 999, last_visitor)))
    end
  end
end

for first = first_id, last_id, 1000 do
  redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + 999, last_id)))
end
return {1, applied, dropped, malformed}
"""
