#!lua
-- Resolve a short code and append its click event, in one round trip per redirect: the URL is
-- returned only if its click event was appended, by this call or by an earlier try of the
-- same attempt. A retried attempt finds the attempt key set and appends nothing.
--
-- KEYS: [1] link, [2] click stream, [3] redirect attempt.
-- ARGV: [1] now in epoch ms, [2] stream maxlen, [3] attempt key ttl in ms, [4] [5] [6] the
--       link hash's url, created_at and expires_at field names, [7] the event's link-created
--       field name, then the event's field/value pairs.
-- Returns the URL, or false for an unknown or expired link (and then appends nothing).
--
-- `#!lua` makes Redis refuse the whole script up front when it is out of memory, so the
-- attempt key is never set without its XADD.
local link = redis.call('HMGET', KEYS[1], ARGV[4], ARGV[5], ARGV[6])
local url, created_at, expires_at = link[1], link[2], link[3]
if not url then
  return false
end
if expires_at and expires_at ~= '' and tonumber(expires_at) <= tonumber(ARGV[1]) then
  return false
end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then
  return url
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[7], created_at, unpack(ARGV, 8))
return url
