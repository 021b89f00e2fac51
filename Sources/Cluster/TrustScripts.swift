import Redis

/// Token mode across the fleet, as Lua run inside Redis: the grants of connected devices (so a
/// node can ask whether a recipient elsewhere lists a sender), revocations (kept in Redis and
/// pushed to every node's inbox, where each node keeps a copy it answers from on the hot path),
/// and pairing codes (issued on the box's node, redeemed on any).
///
/// Keys: `tether:grant:{device}` (set: the ids the device's token lists, while it is connected),
/// `tether:listedby:{device}` (set: connected devices whose token lists it), `tether:revoked`
/// (sorted set: `box` newline `phone`, scored by the revocation's expiry in Unix seconds),
/// `tether:code:{code}` (`expiry:box`, or `used` once redeemed; kept ten minutes past expiry so a
/// late phone hears "expired", not "unknown").
final class TrustScripts {
    /// `dropGrant(device)`: the device's grant and its entries in others' `listedby` sets go.
    static let dropGrant = """
        local function dropGrant(device)
          local key = 'tether:grant:' .. device
          for _, peer in ipairs(redis.call('SMEMBERS', key)) do redis.call('SREM', 'tether:listedby:' .. peer, device) end
          redis.call('DEL', key)
        end

        """

    /// ARGV: node, serial, device, then the ids its token lists. Only while that connection holds
    /// the device: replaces its grant, asks each node holding a device that lists it or that it
    /// lists to let that device hear it (`g` in the node's inbox), and returns the devices that
    /// list it and are on some node (it hears them).
    let grant = RedisScript(TrustScripts.dropGrant + """
        local node, serial, device = ARGV[1], ARGV[2], ARGV[3]
        local current = redis.call('HMGET', 'tether:dev:' .. device, 'node', 'serial')
        if current[1] ~= node or current[2] ~= serial then return {} end
        dropGrant(device)
        local others = {}
        for i = 4, #ARGV do
          redis.call('SADD', 'tether:grant:' .. device, ARGV[i])
          redis.call('SADD', 'tether:listedby:' .. ARGV[i], device)
          others[ARGV[i]] = true
        end
        local listers = {}
        for _, lister in ipairs(redis.call('SMEMBERS', 'tether:listedby:' .. device)) do
          others[lister] = true
          if redis.call('EXISTS', 'tether:dev:' .. lister) == 1 then listers[#listers + 1] = lister end
        end
        for other in pairs(others) do
          local holder = redis.call('HGET', 'tether:dev:' .. other, 'node')
          if holder and holder ~= node then
            redis.call('XADD', 'tether:inbox:' .. holder, '*', 't', 'g', 'd', other, 'w', device)
          end
        end
        return listers
        """)

    /// ARGV: sender, then devices: whether each device's grant lists the sender.
    let listing = RedisScript("""
        local out = {}
        for i = 2, #ARGV do out[i - 1] = redis.call('SISMEMBER', 'tether:grant:' .. ARGV[i], ARGV[1]) end
        return out
        """)

    /// ARGV: origin node, box, phone, until (Unix seconds). Files the revocation (the later expiry
    /// wins) and tells every other node.
    let revoke = RedisScript("""
        redis.call('ZADD', 'tether:revoked', 'GT', ARGV[4], ARGV[2] .. '\\n' .. ARGV[3])
        for _, node in ipairs(redis.call('SMEMBERS', 'tether:nodes')) do
          if node ~= ARGV[1] then
            redis.call('XADD', 'tether:inbox:' .. node, '*', 't', 'v', 'd', ARGV[2], 'p', ARGV[3], 'u', ARGV[4])
          end
        end
        return 1
        """)

    /// ARGV: origin node, box, phone. The two paired again: the revocation goes, everywhere.
    let lift = RedisScript("""
        redis.call('ZREM', 'tether:revoked', ARGV[2] .. '\\n' .. ARGV[3])
        for _, node in ipairs(redis.call('SMEMBERS', 'tether:nodes')) do
          if node ~= ARGV[1] then
            redis.call('XADD', 'tether:inbox:' .. node, '*', 't', 'l', 'd', ARGV[2], 'p', ARGV[3])
          end
        end
        return 1
        """)

    /// Every revocation still in force, as {member, expiry, ...}; the lapsed ones are removed.
    let revocations = RedisScript("""
        local now = tonumber(redis.call('TIME')[1])
        redis.call('ZREMRANGEBYSCORE', 'tether:revoked', '-inf', '(' .. now)
        return redis.call('ZRANGEBYSCORE', 'tether:revoked', now, '+inf', 'WITHSCORES')
        """)

    /// ARGV: code, box, ttl seconds. The code's expiry is Redis' clock plus the ttl.
    let issueCode = RedisScript("""
        local now = tonumber(redis.call('TIME')[1])
        redis.call('SET', 'tether:code:' .. ARGV[1], (now + tonumber(ARGV[3])) .. ':' .. ARGV[2], 'EX', tonumber(ARGV[3]) + 600)
        return 1
        """)

    /// ARGV: code, redeem (1) or only look (0). {0} unknown, {1} used, {3} expired, {2, box} valid
    /// (and now used, when redeeming).
    let code = RedisScript("""
        local key = 'tether:code:' .. ARGV[1]
        local value = redis.call('GET', key)
        if not value then return {0} end
        if value == 'used' then return {1} end
        local expiry, box = string.match(value, '^(%d+):(.*)$')
        if tonumber(redis.call('TIME')[1]) >= tonumber(expiry) then return {3} end
        if ARGV[2] == '1' then redis.call('SET', key, 'used', 'KEEPTTL') end
        return {2, box}
        """)

    /// ARGV: device, reason. Asks the node holding the device to close its connection (4002);
    /// returns 1 if some node held it.
    let disconnect = RedisScript("""
        local holder = redis.call('HGET', 'tether:dev:' .. ARGV[1], 'node')
        if not holder then return 0 end
        redis.call('XADD', 'tether:inbox:' .. holder, '*', 't', 'x', 'd', ARGV[1], 'b', ARGV[2])
        return 1
        """)
}
