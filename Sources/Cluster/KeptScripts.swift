import Redis

/// Kept messages in Redis (issue #18 across nodes), as Lua run inside Redis so that a keep, a
/// take and an expiry of one recipient never interleave: two nodes racing for one reconnect
/// deliver each message once, and a message is kept only while its recipient is on no node.
///
/// Keys: `tether:kept:{device}` a list of blobs in the order kept (`KeptBlob`), the hash
/// `tether:kept:bytes` (device -> payload bytes kept for it), the counters `tether:kept:total`
/// (bytes) and `tether:kept:count`, the sorted set `tether:kept:due` (device -> its earliest
/// expiry, by Redis' clock) and the sequence `tether:kept:seq`.
final class KeptScripts {
    /// `now()`: Redis' clock in milliseconds. `blobParts(blob)`: expiry, sequence, sender and
    /// payload size. `keep(...)`: keeps a message (3) or names the bound it would pass (4: the
    /// recipient's message count, 5: its bytes, 6: all bytes); `limits` nil skips the bounds and
    /// keeps the message at its sequence (a promised message coming back).
    static let functions = """
        local function now()
          local time = redis.call('TIME')
          return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end

        local function blobParts(blob)
          local head, expiry, sequence, senderCount, idCount = string.match(blob, '^((%d+):(%d+):(%d+):(%d+):)')
          senderCount, idCount = tonumber(senderCount), tonumber(idCount)
          local sender = string.sub(blob, #head + 1, #head + senderCount)
          return tonumber(expiry), tonumber(sequence), sender, #blob - #head - senderCount - idCount
        end

        local function keep(device, payload, sender, id, expiry, sequence, limits)
          local list = 'tether:kept:' .. device
          local size = #payload
          if limits then
            if redis.call('LLEN', list) >= limits[1] then return 4 end
            if tonumber(redis.call('HGET', 'tether:kept:bytes', device) or 0) + size > limits[2] then return 5 end
            if tonumber(redis.call('GET', 'tether:kept:total') or 0) + size > limits[3] then return 6 end
            sequence = redis.call('INCR', 'tether:kept:seq')
          end
          local blob = expiry .. ':' .. sequence .. ':' .. #sender .. ':' .. #id .. ':' .. sender .. id .. payload
          local placed = false
          if not limits then
            for _, other in ipairs(redis.call('LRANGE', list, 0, -1)) do
              local _, otherSequence = blobParts(other)
              if otherSequence > sequence then
                redis.call('LINSERT', list, 'BEFORE', other, blob)
                placed = true
                break
              end
            end
          end
          if not placed then redis.call('RPUSH', list, blob) end
          redis.call('HINCRBY', 'tether:kept:bytes', device, size)
          redis.call('INCRBY', 'tether:kept:total', size)
          redis.call('INCR', 'tether:kept:count')
          redis.call('ZADD', 'tether:kept:due', 'LT', expiry, device)
          return 3
        end

        local function removeKept(device, count, bytes, left, nextDue)
          local list = 'tether:kept:' .. device
          redis.call('DEL', list)
          if #left > 0 then
            redis.call('RPUSH', list, unpack(left))
            redis.call('HINCRBY', 'tether:kept:bytes', device, -bytes)
            redis.call('ZADD', 'tether:kept:due', nextDue, device)
          else
            redis.call('HDEL', 'tether:kept:bytes', device)
            redis.call('ZREM', 'tether:kept:due', device)
          end
          redis.call('DECRBY', 'tether:kept:total', bytes)
          redis.call('DECRBY', 'tether:kept:count', count)
        end

        -- Removes the device's blobs for which `remove(expiry, sender)` is true; returns them.
        local function prune(device, remove)
          local removed, left, bytes, nextDue = {}, {}, 0, nil
          for _, blob in ipairs(redis.call('LRANGE', 'tether:kept:' .. device, 0, -1)) do
            local expiry, _, sender, size = blobParts(blob)
            if remove(expiry, sender) then
              removed[#removed + 1] = blob
              bytes = bytes + size
            else
              left[#left + 1] = blob
              if not nextDue or expiry < nextDue then nextDue = expiry end
            end
          end
          if #removed > 0 then removeKept(device, #removed, bytes, left, nextDue) end
          return removed
        end

        """

    /// ARGV: device, payload, sender, raw id (empty when none), then either `n` and the
    /// milliseconds left to live (a new message: the bounds apply, the expiry is Redis' clock
    /// plus them) or `f`, its expiry and its sequence (a promised message coming back), then the
    /// bounds (messages and bytes per recipient, all bytes). Returns the keep's code and, when
    /// kept while the device is on some node, tells that node to take it (`k` in its inbox).
    let keepOne = RedisScript(KeptScripts.functions + """
        local device = ARGV[1]
        local code
        if ARGV[5] == 'f' then
          code = keep(device, ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6]), tonumber(ARGV[7]), nil)
        else
          local limits = {tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])}
          code = keep(device, ARGV[2], ARGV[3], ARGV[4], now() + tonumber(ARGV[6]), 0, limits)
        end
        if code == 3 then
          local holder = redis.call('HGET', 'tether:dev:' .. device, 'node')
          if holder then redis.call('XADD', 'tether:inbox:' .. holder, '*', 't', 'k', 'd', device) end
        end
        return code
        """)

    /// ARGV: device. Takes everything kept for it: {blobs still within their ttl, blobs expired}.
    let take = RedisScript(KeptScripts.functions + """
        local device = ARGV[1]
        local clock = now()
        local live, expired = {}, {}
        local taken = prune(device, function() return true end)
        for _, blob in ipairs(taken) do
          local expiry = blobParts(blob)
          if expiry > clock then live[#live + 1] = blob else expired[#expired + 1] = blob end
        end
        return {live, expired}
        """)

    /// ARGV: most devices per call. Removes what has expired by Redis' clock:
    /// {device, blob, device, blob, ...}, then what is left kept in all (count, bytes).
    let expire = RedisScript(KeptScripts.functions + """
        local clock = now()
        local out = {}
        for _, device in ipairs(redis.call('ZRANGEBYSCORE', 'tether:kept:due', '-inf', clock, 'LIMIT', 0, tonumber(ARGV[1]))) do
          for _, blob in ipairs(prune(device, function(expiry) return expiry <= clock end)) do
            out[#out + 1] = device
            out[#out + 1] = blob
          end
        end
        return {out, tonumber(redis.call('GET', 'tether:kept:count') or 0), tonumber(redis.call('GET', 'tether:kept:total') or 0)}
        """)

    /// ARGV: sender, recipient. Drops what the sender kept for the recipient (an unpair).
    let drop = RedisScript(KeptScripts.functions + """
        local sender = ARGV[1]
        return #prune(ARGV[2], function(_, from) return from == sender end)
        """)

    /// ARGV: device. What is kept for it: {messages, bytes}.
    let holding = RedisScript("""
        return {redis.call('LLEN', 'tether:kept:' .. ARGV[1]), tonumber(redis.call('HGET', 'tether:kept:bytes', ARGV[1]) or 0)}
        """)

    /// ARGV: device, reply. Puts a reply for the device in the inbox of the node holding it (a
    /// receipt for a sender elsewhere); nothing when it is on no node.
    let tell = RedisScript("""
        local holder = redis.call('HGET', 'tether:dev:' .. ARGV[1], 'node')
        if not holder then return 0 end
        redis.call('XADD', 'tether:inbox:' .. holder, '*', 't', 'a', 'd', ARGV[1], 'b', ARGV[2])
        return 1
        """)
}
