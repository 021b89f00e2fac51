import Redis

/// The registry's atomic steps, as Lua run inside Redis: each reads and writes the keys of one
/// device (and its nodes' sets and inboxes) with nothing interleaved, so a claim, a release and a
/// reap can race without a device being announced twice or lost.
///
/// Presence goes into the inboxes of the nodes that hear a device (all nodes, or those watching
/// it), never to the node that caused the change: that node tells its own devices itself.
final class ClusterScripts {
    /// The unread entries of `owner`'s inbox, asked once per script call (`lengths` keeps them).
    private static let inboxLength = """
        local function inboxLength(owner, lengths)
          local length = lengths[owner]
          if length == nil then
            length = redis.call('XLEN', 'tether:inbox:' .. owner)
            lengths[owner] = length
          end
          return length
        end

        """

    private static let announce = """
        local function announce(device, online, origin, mode)
          local targets
          if mode == 'all' then targets = redis.call('SMEMBERS', 'tether:nodes')
          elseif mode == 'watchers' then targets = redis.call('SMEMBERS', 'tether:watch:' .. device)
          else return end
          for _, node in ipairs(targets) do
            if node ~= origin then
              redis.call('XADD', 'tether:inbox:' .. node, '*', 't', 'p', 'd', device, 'o', online)
            end
          end
        end

        """

    /// ARGV: node, serial, device, presence mode, restore (1: only if nobody else holds it).
    /// Returns {previous holder, 1 when messages are kept for the device}; the holder is empty
    /// when the device was on no node (it came online). A restore that finds the device on
    /// another node leaves it there and returns {`taken`, 0}.
    let claim = RedisScript(ClusterScripts.announce + """
        local node, serial, device = ARGV[1], ARGV[2], ARGV[3]
        local key = 'tether:dev:' .. device
        local previous = redis.call('HMGET', key, 'node', 'serial')
        local was, wasSerial = previous[1], previous[2]
        if was and was ~= node and ARGV[5] == '1' then return {'taken', 0} end
        local kept = redis.call('EXISTS', 'tether:kept:' .. device)
        redis.call('HSET', key, 'node', node, 'serial', serial)
        redis.call('SADD', 'tether:devs:' .. node, device)
        if not was then
          announce(device, '1', node, ARGV[4])
          return {'', kept}
        end
        if was ~= node then
          redis.call('SREM', 'tether:devs:' .. was, device)
          redis.call('XADD', 'tether:inbox:' .. was, '*', 't', 'r', 'd', device, 's', wasSerial)
        end
        return {was, kept}
        """)

    /// ARGV: node, serial, device, presence mode. Removes the device only if this very connection
    /// still holds it (a replaced one releases nothing); returns 1 if it did.
    let release = RedisScript(ClusterScripts.announce + TrustScripts.dropGrant + """
        local node, serial, device = ARGV[1], ARGV[2], ARGV[3]
        local key = 'tether:dev:' .. device
        local current = redis.call('HMGET', key, 'node', 'serial')
        if current[1] ~= node or current[2] ~= serial then return 0 end
        redis.call('DEL', key)
        redis.call('SREM', 'tether:devs:' .. node, device)
        dropGrant(device)
        announce(device, '0', node, ARGV[4])
        return 1
        """)

    /// ARGV: sender node, inbox cap, the kept-message bounds (messages and bytes per recipient,
    /// all bytes), then (device, options, record) per message: the record is an `InboxRecord`
    /// (device, sender, payload); options are `g` when the recipient's grant must list the
    /// sender (token mode, the sender's own grant did not allow it), then nothing or
    /// `ttl seconds:raw id` (keep it if the device is on no node). Looks up each device's holder
    /// and joins the records for one holder into one field of one inbox entry, in order.
    /// Returns (message number from 1, code) for each message not queued, in order: 7 when the
    /// recipient's grant does not list the sender (whether or not it is online), 0 when the
    /// device is on no node, 2 when the holder's inbox holds the cap's number of unread entries,
    /// and for a message to keep whose device is on no node, the keep's code (3 kept, 4-6
    /// refused): deciding in one step that it is offline and keeping it, so no connect slips between.
    let route = RedisScript(KeptScripts.functions + ClusterScripts.inboxLength + """
        local function recordParts(record)
          local head, deviceCount, senderCount = string.match(record, '^((%d+):(%d+):%d+:)')
          local from = #head + tonumber(deviceCount)
          local to = from + tonumber(senderCount)
          return string.sub(record, from + 1, to), string.sub(record, to + 1)
        end

        local node, cap = ARGV[1], tonumber(ARGV[2])
        local refused, batches, order, lengths, owners = {}, {}, {}, {}, {}
        local clock, limits
        for i = 6, #ARGV, 3 do
          local device, options = ARGV[i], ARGV[i + 1]
          local owner = owners[device]
          if owner == nil then
            owner = redis.call('HGET', 'tether:dev:' .. device, 'node')
            owners[device] = owner   -- false when on no node: a batch asks once per device
          end
          local result = 1
          local sender, payload
          if options ~= '' then
            sender, payload = recordParts(ARGV[i + 2])
            if string.byte(options, 1) == 103 then   -- 'g'
              options = string.sub(options, 2)
              if redis.call('SISMEMBER', 'tether:grant:' .. device, sender) == 0 then result = 7 end
            end
          end
          if result == 7 then
            -- refused: nothing is told about the device
          elseif owner then
            if inboxLength(owner, lengths) >= cap then
              result = 2
            else
              local batch = batches[owner]
              if not batch then
                batch = {}
                batches[owner] = batch
                order[#order + 1] = owner
              end
              batch[#batch + 1] = ARGV[i + 2]
            end
          elseif options ~= '' then
            local ttl, id = string.match(options, '^(%d+):(.*)$')
            clock = clock or now()
            limits = limits or {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}   -- tonumber is costly: only to keep
            result = keep(device, payload, sender, id, clock + tonumber(ttl) * 1000, 0, limits)
          else
            result = 0
          end
          if result ~= 1 then
            refused[#refused + 1] = (i - 3) / 3
            refused[#refused + 1] = result
          end
        end
        for _, owner in ipairs(order) do
          redis.call('XADD', 'tether:inbox:' .. owner, '*', 't', 'b', 'n', node, 'm', table.concat(batches[owner]))
        end
        return refused
        """)

    /// ARGV: inbox cap, a count n, n devices, then (device, sender) pairs. The first step of a
    /// big batch's route (`ClusterNode.locate`): the node then appends each holder's messages
    /// itself with a plain XADD, so their bytes never become Lua strings, which Redis hashes byte
    /// by byte. Returns {per device its holder: the node, 0 when on no node, 2 when that node's
    /// inbox holds the cap's number of unread entries; per pair 1 when the device's grant lists
    /// the sender, else 0}.
    let locate = RedisScript(ClusterScripts.inboxLength + """
        local cap, count = tonumber(ARGV[1]), tonumber(ARGV[2])
        local holders, lengths, listed = {}, {}, {}
        for i = 1, count do
          local owner = redis.call('HGET', 'tether:dev:' .. ARGV[2 + i], 'node')
          if owner then
            if inboxLength(owner, lengths) >= cap then owner = 2 end
          else
            owner = 0
          end
          holders[i] = owner
        end
        for i = count + 3, #ARGV, 2 do
          listed[#listed + 1] = redis.call('SISMEMBER', 'tether:grant:' .. ARGV[i], ARGV[i + 1])
        end
        return {holders, listed}
        """)

    /// ARGV: node, lease value, lease milliseconds. Renews the node's lease and files its deadline
    /// (by Redis' clock) in `tether:leases`, so a sweep finds the lapsed ones with one range read
    /// instead of asking about every node; returns 1 when the node was missing from `tether:nodes`.
    let renew = RedisScript("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('SET', 'tether:node:' .. ARGV[1], ARGV[2], 'PX', ARGV[3])
        redis.call('ZADD', 'tether:leases', now + tonumber(ARGV[3]), ARGV[1])
        return redis.call('SADD', 'tether:nodes', ARGV[1])
        """)

    /// Nodes whose lease deadline has passed by Redis' clock (at most 16 a sweep), and how many
    /// nodes the registry has.
    let lapsed = RedisScript("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        return {redis.call('SCARD', 'tether:nodes'), redis.call('ZRANGEBYSCORE', 'tether:leases', '-inf', now, 'LIMIT', 0, 16)}
        """)

    /// ARGV: dead node, batch size, presence mode. Does nothing (-1) while the node's lease lives.
    /// Otherwise takes up to a batch of its devices (SPOP hands each to one caller only) and
    /// announces each still held by the dead node offline; 1 while some are left, 0 when this call
    /// removed the node with its watch registrations and inbox, 2 when another reaper had.
    let reap = RedisScript(ClusterScripts.announce + TrustScripts.dropGrant + """
        local dead = ARGV[1]
        if redis.call('EXISTS', 'tether:node:' .. dead) == 1 then return -1 end
        local devices = redis.call('SPOP', 'tether:devs:' .. dead, tonumber(ARGV[2]))
        for _, device in ipairs(devices) do
          local key = 'tether:dev:' .. device
          if redis.call('HGET', key, 'node') == dead then
            redis.call('DEL', key)
            dropGrant(device)
            announce(device, '0', dead, ARGV[3])
          end
        end
        if redis.call('SCARD', 'tether:devs:' .. dead) > 0 then return 1 end
        for _, device in ipairs(redis.call('SMEMBERS', 'tether:watching:' .. dead)) do
          redis.call('SREM', 'tether:watch:' .. device, dead)
        end
        redis.call('DEL', 'tether:watching:' .. dead, 'tether:inbox:' .. dead)
        redis.call('ZREM', 'tether:leases', dead)
        if redis.call('SREM', 'tether:nodes', dead) == 1 then return 0 end
        return 2
        """)

    /// ARGV: node, then devices. Registers the node as a watcher of each (it hears their events
    /// from now on) and returns whether each is on some node, read after the registration.
    let watch = RedisScript("""
        local online = {}
        for i = 2, #ARGV do
          redis.call('SADD', 'tether:watch:' .. ARGV[i], ARGV[1])
          redis.call('SADD', 'tether:watching:' .. ARGV[1], ARGV[i])
          online[i - 1] = redis.call('EXISTS', 'tether:dev:' .. ARGV[i])
        end
        return online
        """)

    /// ARGV: node, then devices: no longer a watcher of them.
    let unwatch = RedisScript("""
        for i = 2, #ARGV do
          redis.call('SREM', 'tether:watch:' .. ARGV[i], ARGV[1])
          redis.call('SREM', 'tether:watching:' .. ARGV[1], ARGV[i])
        end
        return 1
        """)

    /// Every node in the registry: id, what its lease says (nil once it lapsed), the lease's
    /// remaining milliseconds (negative once gone) and how many devices the registry gives it.
    let nodes = RedisScript("""
        local out = {}
        for _, node in ipairs(redis.call('SMEMBERS', 'tether:nodes')) do
          local key = 'tether:node:' .. node
          out[#out + 1] = {node, redis.call('GET', key), redis.call('PTTL', key), redis.call('SCARD', 'tether:devs:' .. node)}
        end
        return out
        """)

    /// ARGV: devices. Whether each is on some node.
    let lookup = RedisScript("""
        local online = {}
        for i = 1, #ARGV do online[i] = redis.call('EXISTS', 'tether:dev:' .. ARGV[i]) end
        return online
        """)
}
