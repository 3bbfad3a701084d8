-- wrk script for `make bench-stack`: GET a random path from a file, one path per line.
-- Arguments (after --): the paths file, then an optional rate in requests/s for this thread.
-- With a rate, each response's next request waits for the next free slot of a fixed schedule,
-- so the offered load is that rate (as long as enough connections are free); without one,
-- wrk sends as fast as responses come back (a capacity run).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  local rate = tonumber(args[2] or "0") or 0
  if rate > 0 then
    local interval, next_at = 1000 / rate, nil
    -- wrk looks for delay() after init(), so defining it here makes only paced runs use it.
    function delay()
      local now = now_ms()
      -- Far behind (the server is saturated): start the schedule again rather than burst.
      if next_at == nil or next_at < now - 50 then
        next_at = now
      end
      next_at = next_at + interval
      return math.max(0, math.floor(next_at - now))
    end
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
