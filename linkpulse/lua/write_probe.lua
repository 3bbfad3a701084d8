#!lua
-- Writes nothing: a script that may write, so Redis refuses to run it exactly when it would
-- refuse a write (out of memory under noeviction, a read-only replica). /readyz calls it to
-- learn whether Redis takes writes, by Redis's own judgement, without writing a byte.
--
-- KEYS: none.  ARGV: none.  Returns 1.
return 1
