package dev.stasis.backend.redis;

import java.util.List;

/**
 * The store's Lua scripts. Each touches the keys of ONE slot only: the record scripts work on
 * {@code <prefix>:{<flowId>}:rec}, the claim scripts on one lookup key, the index scripts on the keys under the
 * {@code {<prefix>}} hash tag. Redis runs a script atomically, so each is linearizable on its own; nothing spans two
 * slots (see {@link RedisStore} for how the steps are ordered so that the indexes stay correct hints).
 */
final class Scripts {

    private Scripts() {}

    /**
     * Inserts a record if its key is free. KEYS: record. ARGV: expire-at millis or '', then field/value pairs.
     * Returns 1 when written, 0 when the flow id exists, 2 when the key holds a {@link #FENCE} tombstone (another
     * insert took this one's claims over).
     */
    static final LuaScript INSERT = new LuaScript("insert", """
            if redis.call('EXISTS', KEYS[1]) == 1 then
              if redis.call('HEXISTS', KEYS[1], 'aborted') == 1 then return 2 end
              return 0
            end
            redis.call('HSET', KEYS[1], unpack(ARGV, 2))
            if ARGV[1] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
            return 1
            """);

    /**
     * Fences out an insert that claimed a value and then went silent: on the record key of that insert's flow, writes
     * a tombstone ({@code aborted}) unless the record exists, so that the insert can never write its record
     * afterwards ({@link #INSERT} returns 2). KEYS: record. ARGV: tombstone TTL millis. Returns 1 when the flow is
     * fenced out (now or before), 0 when its record exists.
     */
    static final LuaScript FENCE = new LuaScript("fence", """
            if redis.call('EXISTS', KEYS[1]) == 1 then
              if redis.call('HEXISTS', KEYS[1], 'aborted') == 1 then return 1 end
              return 0
            end
            redis.call('HSET', KEYS[1], 'aborted', '1')
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            return 1
            """);

    /**
     * Compare-and-set. KEYS: record. ARGV: expected version, expire-at millis or '', then the new record's
     * field/value pairs (the hash is replaced as a whole, so columns that became null disappear and an earlier TTL is
     * dropped). Returns {1, previous waits field} when applied, {0} when the version differs, {-1} when no record.
     */
    static final LuaScript COMPARE_AND_SET = new LuaScript("compare-and-set", """
            local current = redis.call('HGET', KEYS[1], 'ver')
            if not current then return {-1} end
            if current ~= ARGV[1] then return {0} end
            local old = redis.call('HGET', KEYS[1], 'waits') or ''
            redis.call('DEL', KEYS[1])
            redis.call('HSET', KEYS[1], unpack(ARGV, 3))
            if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
            return {1, old}
            """);

    /**
     * Deletes a record at a version. KEYS: record. ARGV: expected version. Returns {1, name, waits, '=' .. corr or ''}
     * when deleted, {0} otherwise.
     */
    static final LuaScript DELETE = new LuaScript("delete", """
            local current = redis.call('HGET', KEYS[1], 'ver')
            if (not current) or current ~= ARGV[1] then return {0} end
            local f = redis.call('HMGET', KEYS[1], 'name', 'waits', 'corr')
            redis.call('DEL', KEYS[1])
            local corr = ''
            if f[3] then corr = '=' .. f[3] end
            return {1, f[1] or '', f[2] or '', corr}
            """);

    /**
     * Claims a lookup key (key hash or correlation id) for an insert. The claim is <em>pending</em> until the record
     * is written and the claim settled: its value is {@code '?' .. flowId} and it carries a long TTL (a backstop that
     * removes claims of inserts that died). KEYS: lookup key. ARGV: flow id, pending TTL millis, a holder value the
     * caller proved stale (its settled record is gone, or its pending insert was fenced out) or ''. Returns {1} when
     * claimed now, {2} when this flow already holds it (pending or settled), {0, holder value, pttl} otherwise.
     */
    static final LuaScript CLAIM = new LuaScript("claim", """
            local holder = redis.call('GET', KEYS[1])
            if not holder then
              redis.call('SET', KEYS[1], '?' .. ARGV[1], 'PX', ARGV[2])
              return {1}
            end
            if holder == ARGV[1] or holder == '?' .. ARGV[1] then return {2} end
            if ARGV[3] ~= '' and holder == ARGV[3] then
              redis.call('SET', KEYS[1], '?' .. ARGV[1], 'PX', ARGV[2])
              return {1}
            end
            return {0, holder, redis.call('PTTL', KEYS[1])}
            """);

    /**
     * Settles a lookup key for a written record: value = flow id, no TTL or the record's expiry. KEYS: lookup key.
     * ARGV: flow id, expire-at millis or ''. Recreates a lapsed claim. Returns 1, or 0 when another flow holds the key.
     */
    static final LuaScript SETTLE = new LuaScript("settle", """
            local holder = redis.call('GET', KEYS[1])
            if holder and holder ~= ARGV[1] and holder ~= '?' .. ARGV[1] then return 0 end
            redis.call('SET', KEYS[1], ARGV[1])
            if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
            return 1
            """);

    /**
     * Deletes a lookup key only if it still points to this flow (pending or settled). KEYS: lookup key. ARGV: flow
     * id. Returns 1 or 0.
     */
    static final LuaScript RELEASE = new LuaScript("release", """
            local holder = redis.call('GET', KEYS[1])
            if holder == ARGV[1] or holder == '?' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """);

    /**
     * Adds index entries for a record about to be written, without removing anything (so that a crash between the
     * write and {@link #SYNC} leaves extra, verifiable entries, never missing ones). Deadline and lease scores only
     * ever move earlier ({@code ZADD LT}). KEYS: ids, name set, names hash, target status set, deadlines, leases.
     * ARGV: flow id, flow name, deadline millis or '', lease millis or ''.
     */
    static final LuaScript PRE_INDEX = new LuaScript("pre-index", """
            redis.call('ZADD', KEYS[1], 0, ARGV[1])
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
            redis.call('ZADD', KEYS[4], 0, ARGV[1])
            if ARGV[3] ~= '' then redis.call('ZADD', KEYS[5], 'LT', ARGV[3], ARGV[1]) end
            if ARGV[4] ~= '' then redis.call('ZADD', KEYS[6], 'LT', ARGV[4], ARGV[1]) end
            return 1
            """);

    /**
     * Makes the global indexes describe one version of a record exactly, unless they already describe a later
     * version (so updates that arrive out of order never undo newer ones). KEYS: ver hash, names hash, ids, name
     * set, deadlines, leases, retain, then the status sets in {@link Keys#STATUSES} order. ARGV: flow id, version,
     * status ordinal, deadline millis or '', lease millis or '', expire-at millis or '', flow name. Returns 1 when
     * applied, 0 when skipped.
     */
    static final LuaScript SYNC = new LuaScript("sync", """
            local id = ARGV[1]
            local seen = redis.call('HGET', KEYS[1], id)
            if seen and tonumber(seen) > tonumber(ARGV[2]) then return 0 end
            redis.call('HSET', KEYS[1], id, ARGV[2])
            redis.call('HSET', KEYS[2], id, ARGV[7])
            redis.call('ZADD', KEYS[3], 0, id)
            redis.call('ZADD', KEYS[4], 0, id)
            for i = 5, 7 do
              local score = ARGV[i - 1]
              if score == '' then redis.call('ZREM', KEYS[i], id) else redis.call('ZADD', KEYS[i], score, id) end
            end
            local target = 8 + tonumber(ARGV[3])
            for i = 8, #KEYS do
              if i == target then redis.call('ZADD', KEYS[i], 0, id) else redis.call('ZREM', KEYS[i], id) end
            end
            return 1
            """);

    /**
     * Removes a flow from every global index. KEYS: ver hash, names hash, then sorted sets. ARGV: flow id.
     */
    static final LuaScript PURGE = new LuaScript("purge", """
            redis.call('HDEL', KEYS[1], ARGV[1])
            redis.call('HDEL', KEYS[2], ARGV[1])
            for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
            return 1
            """);

    /** Every script, for {@code SCRIPT LOAD} at provisioning. */
    static final List<LuaScript> ALL =
            List.of(INSERT, FENCE, COMPARE_AND_SET, DELETE, CLAIM, SETTLE, RELEASE, PRE_INDEX, SYNC, PURGE);
}
