package dev.stasis.backend.redis;

import java.util.List;

/**
 * The store's Lua scripts, in two families.
 *
 * <p><b>Multi-step scripts</b> (used on a Redis Cluster, and as the fallback on a standalone server): each touches the
 * keys of ONE slot only — the record scripts work on {@code <prefix>:{<flowId>}:rec}, the claim scripts on one lookup
 * key, the index scripts on the keys under the {@code {<prefix>}} hash tag. Redis runs a script atomically, so each
 * is linearizable on its own; nothing spans two slots (see {@link RedisStore} for how the steps are ordered so that
 * the indexes stay correct hints).
 *
 * <p><b>Standalone scripts</b> ({@link #INSERT_ONE}, {@link #COMPARE_AND_SET_ONE}, {@link #DELETE_ONE},
 * {@link #FOLLOW_ONE}): one script per SPI call, touching the record, its lookup hints and the global indexes
 * together, which only a single Redis server allows (their keys hash to different cluster slots). They write the same
 * keys with the same encoding as the multi-step scripts, so the readers and their repairs work on both. They take
 * the record key, then the global index keys in {@link Keys#indexKeys} order ({@code KEYS[2..]}), then the hint
 * keys, and declare every key they touch, with one exception: {@link #FOLLOW_ONE} reads the record its hint names,
 * whose key nobody can know before reading the hint. A write script whose caller did not declare a key it turns out
 * to need (a hint a compare-and-set drops, the holder of a conflicting hint) changes nothing and names what it needs;
 * the store runs it again with those keys.
 */
final class Scripts {

    private Scripts() {}

    /** {@code KEYS} index of the last global index key in the standalone scripts (the record is {@code KEYS[1]}). */
    static final int LAST_INDEX = 1 + 7 + Keys.STATUSES.length;

    /**
     * Lua shared by the standalone scripts. {@code index_exact} is {@link #SYNC} on {@code KEYS[2..LAST_INDEX]} (it
     * also honours {@code ver}, so that a reader's late repair from an older version cannot undo it);
     * {@code index_purge} is {@link #PURGE}; {@code settle} and {@code release} are {@link #SETTLE} and
     * {@link #RELEASE} on one hint key.
     */
    private static final String STANDALONE_PRELUDE = """
            local LAST_INDEX = $LAST_INDEX
            local function held_by(value, id)
              return value == id or value == '?' .. id
            end
            local function index_exact(id, ver, status, deadline, lease, retain, name)
              local seen = redis.call('HGET', KEYS[2], id)
              if seen and tonumber(seen) > tonumber(ver) then return end
              redis.call('HSET', KEYS[2], id, ver)
              redis.call('HSET', KEYS[3], id, name)
              redis.call('ZADD', KEYS[4], 0, id)
              redis.call('ZADD', KEYS[5], 0, id)
              local scores = {deadline, lease, retain}
              for i = 1, 3 do
                if scores[i] == '' then redis.call('ZREM', KEYS[5 + i], id)
                else redis.call('ZADD', KEYS[5 + i], scores[i], id) end
              end
              local target = 9 + tonumber(status)
              for i = 9, LAST_INDEX do
                if i == target then redis.call('ZADD', KEYS[i], 0, id) else redis.call('ZREM', KEYS[i], id) end
              end
            end
            local function index_purge(id)
              redis.call('HDEL', KEYS[2], id)
              redis.call('HDEL', KEYS[3], id)
              for i = 4, LAST_INDEX do redis.call('ZREM', KEYS[i], id) end
            end
            local function settle(key, id, expire_at)
              local value = redis.call('GET', key)
              if value and not held_by(value, id) then return end
              if value ~= id then redis.call('SET', key, id) end
              if expire_at ~= '' then redis.call('PEXPIREAT', key, expire_at) end
            end
            local function release(key, id)
              if held_by(redis.call('GET', key), id) then redis.call('DEL', key) end
            end
            local function hashes_of(waits)
              local out = {}
              for item in string.gmatch(waits, '[^,]+') do out[#out + 1] = string.match(item, '^[^:]*') end
              return out
            end
            """.replace("$LAST_INDEX", Integer.toString(LAST_INDEX));

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

    /**
     * Standalone insert, in one step: what {@link #CLAIM}, {@link #PRE_INDEX}, {@link #INSERT}, {@link #SETTLE} and
     * {@link #SYNC} do one after the other on a cluster. KEYS: record, the global indexes ({@link Keys#indexKeys}),
     * the n hint keys (correlation id first, then the distinct key hashes), then the record keys of the holders the
     * caller names in ARGV. ARGV: flow id, version, status ordinal, deadline millis or '', lease millis or '',
     * expire-at millis or '', flow name, n, then per hint {@code '=' ..} the flow id whose record key the caller
     * declared for it (or ''), then the record's field/value pairs.
     *
     * <p>Decides before it writes anything. Returns
     * <ul>
     *   <li>{@code {1}}: written — the record, every hint settled (value = flow id, the record's expiry if any), the
     *       indexes exact;</li>
     *   <li>{@code {0}}: the flow id exists; {@code {2}}: its key holds a {@link #FENCE} tombstone;</li>
     *   <li>{@code {3, i, value}}: hint i is held by another flow whose record exists (a duplicate);</li>
     *   <li>{@code {4, i, value}}: hint i is a pending claim of a multi-step insert still in flight (no record, no
     *       tombstone): only the multi-step algorithm, which waits for it or fences it out, may decide;</li>
     *   <li>{@code {5, i, holder, ...}}: hints held by other flows whose record keys were not declared: run again
     *       naming them.</li>
     * </ul>
     * A hint held by another flow whose record is gone or fenced out is stale and taken over.
     */
    static final LuaScript INSERT_ONE = new LuaScript("insert-standalone", STANDALONE_PRELUDE + """
            local id = ARGV[1]
            local n = tonumber(ARGV[8])
            if redis.call('EXISTS', KEYS[1]) == 1 then
              if redis.call('HEXISTS', KEYS[1], 'aborted') == 1 then return {2} end
              return {0}
            end
            local need = {}
            local pending = nil
            local declared = LAST_INDEX + n
            for i = 1, n do
              local known = nil
              local holder_record = nil
              if ARGV[8 + i] ~= '' then
                known = string.sub(ARGV[8 + i], 2)
                declared = declared + 1
                holder_record = KEYS[declared]
              end
              local value = redis.call('GET', KEYS[LAST_INDEX + i])
              if value and not held_by(value, id) then
                local is_pending = string.sub(value, 1, 1) == '?'
                local holder = value
                if is_pending then holder = string.sub(value, 2) end
                if holder ~= known then
                  need[#need + 1] = i
                  need[#need + 1] = holder
                elseif redis.call('HEXISTS', holder_record, 'ver') == 1 then
                  return {3, i, value}
                elseif is_pending and redis.call('HEXISTS', holder_record, 'aborted') == 0 then
                  pending = {4, i, value}
                end
              end
            end
            if #need > 0 then return {5, unpack(need)} end
            if pending then return pending end
            local expire_at = ARGV[6]
            redis.call('HSET', KEYS[1], unpack(ARGV, 9 + n))
            if expire_at ~= '' then redis.call('PEXPIREAT', KEYS[1], expire_at) end
            for i = LAST_INDEX + 1, LAST_INDEX + n do
              redis.call('SET', KEYS[i], id)
              if expire_at ~= '' then redis.call('PEXPIREAT', KEYS[i], expire_at) end
            end
            index_exact(id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], expire_at, ARGV[7])
            return {1}
            """);

    /**
     * Standalone compare-and-set, in one step: the version check and hash replacement of {@link #COMPARE_AND_SET},
     * the hints of the new record's key hashes (created, or settled with the record's expiry), the release of the
     * hints of key hashes it dropped (only where they still point to this flow), and {@link #SYNC}. KEYS: record, the
     * global indexes, the a hint keys of the new record's distinct key hashes, the b hint keys of the hashes the
     * caller expects it to drop, then (c = 1) the correlation hint when the new record expires. ARGV: flow id, new
     * version, status ordinal, deadline millis or '', lease millis or '', expire-at millis or '', flow name, expected
     * version, a, b, c, then the a + b key hashes as they appear in the {@code waits} field (percent-encoded), then
     * the new record's field/value pairs.
     *
     * <p>Returns {@code {1}} when applied; {@code {0}} when the version differs; {@code {-1}} when there is no record
     * (its index entries are removed); {@code {2, waits}} — nothing written — when the stored record holds a key
     * hash that is neither in the new record nor among the declared dropped ones: run again declaring them. Like the
     * multi-step path it leaves a hint that another flow holds alone.
     */
    static final LuaScript COMPARE_AND_SET_ONE = new LuaScript("compare-and-set-standalone", STANDALONE_PRELUDE + """
            local id = ARGV[1]
            local current = redis.call('HGET', KEYS[1], 'ver')
            if not current then
              index_purge(id)
              return {-1}
            end
            if current ~= ARGV[8] then return {0} end
            local a, b, c = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
            local old = redis.call('HGET', KEYS[1], 'waits') or ''
            local kept = {}
            for i = 1, a do kept[ARGV[11 + i]] = true end
            local declared = {}
            for j = 1, b do declared[ARGV[11 + a + j]] = LAST_INDEX + a + j end
            local dropped = {}
            for _, h in ipairs(hashes_of(old)) do
              if not kept[h] then
                if not declared[h] then return {2, old} end
                dropped[#dropped + 1] = declared[h]
              end
            end
            local expire_at = ARGV[6]
            redis.call('DEL', KEYS[1])
            redis.call('HSET', KEYS[1], unpack(ARGV, 12 + a + b))
            if expire_at ~= '' then redis.call('PEXPIREAT', KEYS[1], expire_at) end
            for i = LAST_INDEX + 1, LAST_INDEX + a do settle(KEYS[i], id, expire_at) end
            for _, k in ipairs(dropped) do release(KEYS[k], id) end
            if c == 1 then settle(KEYS[LAST_INDEX + a + b + 1], id, expire_at) end
            index_exact(id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], expire_at, ARGV[7])
            return {1}
            """);

    /**
     * Standalone delete, in one step: {@link #DELETE}, then {@link #PURGE} and {@link #RELEASE} of the record's
     * hints. KEYS: record, the global indexes (with the name set of the flow name the caller expects), the a hint
     * keys of the key hashes it expects, then (c = 1) the correlation hint it expects. ARGV: flow id, expected
     * version, flow name, {@code '=' .. correlationId} or '', a, c, then the a key hashes as in {@code waits}.
     *
     * <p>Returns {@code {1}} when deleted; {@code {0}} when absent or at another version; {@code {2, name, waits,
     * '=' .. corr or ''}} — nothing deleted — when the record's name, correlation id or key hashes are not what the
     * caller declared: run again with them.
     */
    static final LuaScript DELETE_ONE = new LuaScript("delete-standalone", STANDALONE_PRELUDE + """
            local id = ARGV[1]
            local current = redis.call('HGET', KEYS[1], 'ver')
            if (not current) or current ~= ARGV[2] then return {0} end
            local f = redis.call('HMGET', KEYS[1], 'name', 'waits', 'corr')
            local name, waits, corr = f[1] or '', f[2] or '', ''
            if f[3] then corr = '=' .. f[3] end
            local a, c = tonumber(ARGV[5]), tonumber(ARGV[6])
            local declared = {}
            for j = 1, a do declared[ARGV[6 + j]] = LAST_INDEX + j end
            local held = {}
            local complete = name == ARGV[3] and corr == ARGV[4] and (corr == '') == (c == 0)
            for _, h in ipairs(hashes_of(waits)) do
              if not declared[h] then complete = false else held[#held + 1] = declared[h] end
            end
            if not complete then return {2, name, waits, corr} end
            redis.call('DEL', KEYS[1])
            index_purge(id)
            for _, k in ipairs(held) do release(KEYS[k], id) end
            if c == 1 then release(KEYS[LAST_INDEX + a + 1], id) end
            return {1}
            """);

    /**
     * Standalone lookup: follows a hint to its record in one step. KEYS: the hint key. ARGV: what precedes and what
     * follows the flow id in a record key. Returns {@code {}} when there is no hint, else {@code {hint value, field,
     * value, ...}} (no fields when the record is gone). The record key is built from the hint's value, so it cannot
     * be declared: this script reads one key it was not given (allowed outside a cluster; it never runs on one). The
     * caller still verifies that the record holds what the hint claims, and settles a pending hint.
     */
    static final LuaScript FOLLOW_ONE = new LuaScript("follow-standalone", """
            local value = redis.call('GET', KEYS[1])
            if not value then return {} end
            local id = value
            if string.sub(value, 1, 1) == '?' then id = string.sub(value, 2) end
            local reply = redis.call('HGETALL', ARGV[1] .. id .. ARGV[2])
            table.insert(reply, 1, value)
            return reply
            """);

    /** Every script, for {@code SCRIPT LOAD} at provisioning. */
    static final List<LuaScript> ALL = List.of(INSERT, FENCE, COMPARE_AND_SET, DELETE, CLAIM, SETTLE, RELEASE,
            PRE_INDEX, SYNC, PURGE, INSERT_ONE, COMPARE_AND_SET_ONE, DELETE_ONE, FOLLOW_ONE);
}
