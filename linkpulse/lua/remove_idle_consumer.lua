-- Delete a consumer from the group only if it owns no pending entries.
--
-- XGROUP DELCONSUMER throws away the consumer's pending entries, and those would then never
-- be delivered again: lost clicks. XINFO CONSUMERS read a moment earlier cannot promise the
-- consumer is still empty, so the check and the delete run together. A live consumer removed
-- this way loses nothing: its next XREADGROUP simply creates it again.
--
-- KEYS: [1] the stream.  ARGV: [1] group, [2] consumer.  Returns 1 if deleted, else 0.
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
