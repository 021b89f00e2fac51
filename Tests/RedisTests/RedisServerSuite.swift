import Testing

/// Every test that runs a real redis-server, one at a time (two cores; timing-sensitive tests).
@Suite(.serialized) enum RedisServerSuite {}
