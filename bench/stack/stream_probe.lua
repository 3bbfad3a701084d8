-- make bench-stack: one reading of the click stream's consumer group, as one line of text:
--   "<server time ms> <not yet delivered> <pending> <age ms of the oldest unprocessed event>"
-- (-1 where Redis cannot tell). Read-only. KEYS[1] the stream, ARGV[1] the group.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return now_ms .. ' 0 0 0'
end
local info, group = redis.call('XINFO', 'STREAM', KEYS[1]), nil
local added = 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = info[i + 1] end
end
for _, row in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #row, 2 do fields[row[i]] = row[i + 1] end
  if fields['name'] == ARGV[1] then group = fields end
end
if group == nil then
  return now_ms .. ' ' .. added .. ' 0 -1'
end
local undelivered = -1
if type(group['entries-read']) == 'number' then
  undelivered = added - group['entries-read']
end
local oldest = nil
if group['pending'] > 0 then
  oldest = redis.call('XPENDING', KEYS[1], ARGV[1])[2]
end
local next_entry = redis.call('XRANGE', KEYS[1], '(' .. group['last-delivered-id'], '+', 'COUNT', 1)
if #next_entry > 0 and (oldest == nil or next_entry[1][1] < oldest) then
  oldest = next_entry[1][1]
end
local age = 0
if oldest ~= nil then
  age = math.max(0, now_ms - tonumber(string.match(oldest, '^(%d+)')))
end
return now_ms .. ' ' .. undelivered .. ' ' .. group['pending'] .. ' ' .. age
