package dev.stasis.backend.redis;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tests' side channel: plain Redis commands on a connection of its own, with the key layout spelled out here
 * again (not taken from the store's classes), so that it checks what is really stored.
 */
final class RedisSideChannel {

    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");
    private static final String[] STATUSES = {"SUSPENDED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED"};

    private final RedisClusterCommands<String, byte[]> redis;
    private final String prefix;

    RedisSideChannel(RedisClusterCommands<String, byte[]> redis, String prefix) {
        this.redis = redis;
        this.prefix = prefix;
    }

    RedisClusterCommands<String, byte[]> redis() {
        return redis;
    }

    String record(String flowId) {
        return prefix + ":{" + flowId + "}:rec";
    }

    String keyHash(String hash) {
        return prefix + ":kh:" + hash;
    }

    String correlation(String correlationId) {
        return prefix + ":corr:" + correlationId;
    }

    String index(String name) {
        return prefix + ":{" + prefix + "}:" + name;
    }

    byte[] rawState(String flowId) {
        byte[] state = redis.hget(record(flowId), "state");
        if (state == null) {
            throw new IllegalStateException("no record " + flowId);
        }
        return state;
    }

    void rawReplaceState(String flowId, byte[] state) {
        if (redis.exists(record(flowId)) != 1) {
            throw new IllegalStateException("no record " + flowId);
        }
        redis.hset(record(flowId), "state", state);
    }

    /** Every field of the record hash, then every index key and entry that points to the flow. */
    String rawDump(String flowId) {
        StringBuilder sb = new StringBuilder();
        Map<String, byte[]> fields = new TreeMap<>(redis.hgetall(record(flowId)));
        sb.append(record(flowId)).append(" ttl=").append(redis.pttl(record(flowId))).append('\n');
        fields.forEach((k, v) -> sb.append("  ").append(k).append('=').append(latin1(v)).append('\n'));
        byte[] waits = fields.get("waits");
        if (waits != null) {
            Matcher m = HASH.matcher(latin1(waits));
            while (m.find()) {
                appendString(sb, keyHash(m.group()));
            }
        }
        byte[] corr = fields.get("corr");
        if (corr != null) {
            appendString(sb, correlation(new String(corr, StandardCharsets.UTF_8)));
        }
        List<String> zsets = new ArrayList<>(List.of("ids", "deadlines", "leases", "retain"));
        for (String s : STATUSES) {
            zsets.add("status:" + s);
        }
        byte[] name = fields.get("name");
        if (name != null) {
            zsets.add("name:" + new String(name, StandardCharsets.UTF_8));
        }
        byte[] member = flowId.getBytes(StandardCharsets.UTF_8);
        for (String z : zsets) {
            Double score = redis.zscore(index(z), member);
            if (score != null) {
                sb.append(index(z)).append(" score=").append(score.longValue()).append('\n');
            }
        }
        for (String h : List.of("ver", "names")) {
            byte[] v = redis.hget(index(h), flowId);
            if (v != null) {
                sb.append(index(h)).append('[').append(flowId).append("]=").append(latin1(v)).append('\n');
            }
        }
        return sb.toString();
    }

    /** Deletes every key under the prefix (SCAN + DEL; cluster-wide on a cluster connection). */
    long deleteAll() {
        long deleted = 0;
        ScanArgs args = ScanArgs.Builder.matches(prefix + ":*").limit(1000);
        KeyScanCursor<String> cursor = redis.scan(args);
        while (true) {
            for (String key : cursor.getKeys()) {
                deleted += redis.del(key);
            }
            if (cursor.isFinished()) {
                return deleted;
            }
            cursor = redis.scan(cursor, args);
        }
    }

    /** How many keys exist under the prefix. */
    long countKeys() {
        long n = 0;
        ScanArgs args = ScanArgs.Builder.matches(prefix + ":*").limit(1000);
        KeyScanCursor<String> cursor = redis.scan(args);
        while (true) {
            n += cursor.getKeys().size();
            if (cursor.isFinished()) {
                return n;
            }
            cursor = redis.scan(cursor, args);
        }
    }

    private void appendString(StringBuilder sb, String key) {
        byte[] v = redis.get(key);
        if (v != null) {
            sb.append(key).append(" -> ").append(latin1(v)).append(" ttl=").append(redis.pttl(key)).append('\n');
        }
    }

    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
