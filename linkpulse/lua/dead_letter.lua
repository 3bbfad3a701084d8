#!lua
-- Move one unreadable click event to the dead-letter stream and acknowledge it, together.
-- Copy and XACK run in one script and only while this consumer still owns the entry, so an
-- entry is dead-lettered exactly once: a reclaimed entry (another consumer has it now) and a
-- retried call whose reply was lost both find it not owned and write nothing.
-- KEYS: [1] click stream, [2] dead-letter stream.
-- ARGV: group, consumer, dead-letter maxlen, entry id, id field, reason field, reason,
--       then the entry's own field/value pairs, byte for byte.
-- Returns 1 when moved, 0 when not owned. `#!lua` makes Redis refuse the whole script when out
-- of memory, before the XADD, so the entry stays pending and is tried again.
local stream, dead = KEYS[1], KEYS[2]
local group, consumer, maxlen, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
  return 0
end
local fields = {ARGV[5], id, ARGV[6], ARGV[7]}
for i = 8, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', dead, 'MAXLEN', '~', maxlen, '*', unpack(fields))
redis.call('XACK', stream, group, id)
return 1
