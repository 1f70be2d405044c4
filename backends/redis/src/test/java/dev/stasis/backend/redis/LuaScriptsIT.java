package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Edge cases of the Lua scripts, run directly against the standalone test server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LuaScriptsIT {

    private final String p = "stasis-lua-" + UUID.randomUUID().toString().substring(0, 8);
    private RedisClient client;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> redis;
    private RedisClusterReactiveCommands<String, byte[]> reactive;

    @BeforeAll
    void connect() {
        client = RedisClient.create(RedisStoreIT.URI);
        connection = client.connect(RedisConnector.CODEC);
        redis = connection.sync();
        reactive = connection.reactive();
    }

    @AfterAll
    void cleanUp() {
        List<String> keys = redis.keys(p + ":*");
        if (!keys.isEmpty()) {
            redis.del(keys.toArray(String[]::new));
        }
        connection.close();
        client.shutdown();
    }

    private List<Object> multi(LuaScript script, List<String> keys, Object... args) {
        return script.<List<Object>>run(reactive, ScriptOutputType.MULTI, keys.toArray(String[]::new),
                RedisStore.args(args)).block(Duration.ofSeconds(10));
    }

    private Long integer(LuaScript script, List<String> keys, Object... args) {
        return script.<Long>run(reactive, ScriptOutputType.INTEGER, keys.toArray(String[]::new),
                RedisStore.args(args)).block(Duration.ofSeconds(10));
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String s(Object o) {
        return new String((byte[]) o, StandardCharsets.UTF_8);
    }

    private static Map<String, byte[]> fields(String version, String waits) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("ver", b(version));
        f.put("waits", b(waits));
        f.put("state", new byte[] {0, 1, 2});
        return f;
    }

    @Test
    void insertWritesOnceAndHonoursTheExpiry() {
        String rec = p + ":{i1}:rec";
        assertThat(integer(Scripts.INSERT, List.of(rec), null, fields("1", "")))
                .isEqualTo(1);
        assertThat(redis.pttl(rec)).isEqualTo(-1);
        assertThat(integer(Scripts.INSERT, List.of(rec), null, fields("1", "x")))
                .isZero();
        assertThat(redis.hget(rec, "waits")).isEmpty();
        String expiring = p + ":{i2}:rec";
        long at = System.currentTimeMillis() + 600_000;
        integer(Scripts.INSERT, List.of(expiring), at, fields("1", ""));
        assertThat(redis.pexpiretime(expiring)).isEqualTo(at);
    }

    @Test
    void compareAndSetDistinguishesMissingStaleAndCurrent() {
        String rec = p + ":{c1}:rec";
        List<Object> missing = multi(Scripts.COMPARE_AND_SET, List.of(rec), 1, null,
                fields("2", ""));
        assertThat(missing).containsExactly(-1L);
        assertThat(redis.exists(rec)).isZero();

        Map<String, byte[]> v1 = fields("1", "old");
        v1.put("lease", b("hub-a"));
        integer(Scripts.INSERT, List.of(rec), null, v1);
        List<Object> stale = multi(Scripts.COMPARE_AND_SET, List.of(rec), 7, null,
                fields("8", ""));
        assertThat(stale).containsExactly(0L);

        long at = System.currentTimeMillis() + 600_000;
        List<Object> applied = multi(Scripts.COMPARE_AND_SET, List.of(rec), 1, at,
                fields("2", "new"));
        assertThat(applied.get(0)).isEqualTo(1L);
        assertThat(s(applied.get(1))).isEqualTo("old");
        assertThat(redis.hget(rec, "lease")).as("a column that became null disappears").isNull();
        assertThat(redis.pexpiretime(rec)).isEqualTo(at);
        // a later write without expiry drops the TTL
        multi(Scripts.COMPARE_AND_SET, List.of(rec), 2, null, fields("3", "new"));
        assertThat(redis.pttl(rec)).isEqualTo(-1);
        // the version compares as a string of digits: "03" is not "3"
        assertThat(multi(Scripts.COMPARE_AND_SET, List.of(rec), "03", null,
                fields("4", ""))).containsExactly(0L);
    }

    @Test
    void deleteReturnsWhatItsCleanUpNeeds() {
        String rec = p + ":{d1}:rec";
        Map<String, byte[]> f = fields("1", "w");
        f.put("name", b("flow"));
        integer(Scripts.INSERT, List.of(rec), null, f);
        assertThat(multi(Scripts.DELETE, List.of(rec), 2)).containsExactly(0L);
        List<Object> deleted = multi(Scripts.DELETE, List.of(rec), 1);
        assertThat(deleted.get(0)).isEqualTo(1L);
        assertThat(s(deleted.get(1))).isEqualTo("flow");
        assertThat(s(deleted.get(2))).isEqualTo("w");
        assertThat(s(deleted.get(3))).as("no correlation id").isEmpty();
        assertThat(redis.exists(rec)).isZero();

        f.put("corr", b(""));
        integer(Scripts.INSERT, List.of(rec), null, f);
        List<Object> withEmptyCorrelation = multi(Scripts.DELETE, List.of(rec), 1);
        assertThat(s(withEmptyCorrelation.get(3))).as("an empty correlation id is not 'none'").isEqualTo("=");
    }

    @Test
    void claimsArePendingUntilSettledAndOnlyAStaleHolderNamedByTheCallerIsTakenOver() {
        String key = p + ":corr:c1";
        assertThat(multi(Scripts.CLAIM, List.of(key), "A", 60_000, null)).containsExactly(1L);
        assertThat(redis.get(key)).isEqualTo(b("?A"));
        assertThat(redis.pttl(key)).isPositive();
        assertThat(multi(Scripts.CLAIM, List.of(key), "A", 60_000, null)).containsExactly(2L);
        List<Object> taken = multi(Scripts.CLAIM, List.of(key), "B", 60_000, null);
        assertThat(taken).hasSize(3);
        assertThat(taken.get(0)).isEqualTo(0L);
        assertThat(s(taken.get(1))).isEqualTo("?A");
        assertThat((Long) taken.get(2)).isBetween(1L, 60_000L);
        assertThat(multi(Scripts.CLAIM, List.of(key), "B", 60_000, "A").get(0))
                .as("the pending value must be named exactly").isEqualTo(0L);

        assertThat(integer(Scripts.SETTLE, List.of(key), "B", null)).isZero();
        assertThat(integer(Scripts.SETTLE, List.of(key), "A", null)).isEqualTo(1);
        assertThat(redis.get(key)).isEqualTo(b("A"));
        assertThat(redis.pttl(key)).isEqualTo(-1);
        assertThat(multi(Scripts.CLAIM, List.of(key), "A", 60_000, null)).containsExactly(2L);
        assertThat(multi(Scripts.CLAIM, List.of(key), "B", 60_000, "Z").get(0))
                .as("only the holder named as stale").isEqualTo(0L);
        assertThat(multi(Scripts.CLAIM, List.of(key), "B", 60_000, "A")).containsExactly(1L);
        assertThat(redis.get(key)).isEqualTo(b("?B"));
        assertThat(multi(Scripts.CLAIM, List.of(key), "C", 60_000, "?B")).containsExactly(1L);
        assertThat(redis.get(key)).isEqualTo(b("?C"));

        assertThat(integer(Scripts.RELEASE, List.of(key), "B")).isZero();
        assertThat(integer(Scripts.RELEASE, List.of(key), "C")).isEqualTo(1);
        assertThat(redis.exists(key)).isZero();
        // settling recreates a claim that lapsed, and gives it the record's expiry
        long at = System.currentTimeMillis() + 600_000;
        assertThat(integer(Scripts.SETTLE, List.of(key), "D", at)).isEqualTo(1);
        assertThat(redis.get(key)).isEqualTo(b("D"));
        assertThat(redis.pexpiretime(key)).isEqualTo(at);
        assertThat(integer(Scripts.RELEASE, List.of(key), "D")).isEqualTo(1);
    }

    @Test
    void aFencedOutInsertCanNeverWriteItsRecord() {
        String silent = p + ":{silent}:rec";
        assertThat(integer(Scripts.FENCE, List.of(silent), 60_000)).isEqualTo(1);
        assertThat(redis.hget(silent, "aborted")).isEqualTo(b("1"));
        assertThat(redis.pttl(silent)).isBetween(1L, 60_000L);
        assertThat(integer(Scripts.FENCE, List.of(silent), 60_000)).as("idempotent").isEqualTo(1);
        assertThat(integer(Scripts.INSERT, List.of(silent), null, fields("1", ""))).isEqualTo(2);
        assertThat(redis.hget(silent, "ver")).isNull();
        assertThat(multi(Scripts.COMPARE_AND_SET, List.of(silent), 1, null, fields("2", ""))).containsExactly(-1L);
        assertThat(multi(Scripts.DELETE, List.of(silent), 1)).containsExactly(0L);

        String written = p + ":{written}:rec";
        integer(Scripts.INSERT, List.of(written), null, fields("1", ""));
        assertThat(integer(Scripts.FENCE, List.of(written), 60_000)).isZero();
        assertThat(redis.hget(written, "aborted")).isNull();
    }

    @Test
    void syncIgnoresOlderVersionsAndPreIndexOnlyAdds() {
        Keys k = new Keys(p);
        List<String> syncKeys = new java.util.ArrayList<>(List.of(k.versions(), k.names(), k.ids(), k.name("f"),
                k.deadlines(), k.leases(), k.retain()));
        for (var st : Keys.STATUSES) {
            syncKeys.add(k.status(st));
        }
        String id = "flow-1";
        // version 3: suspended (ordinal 0) with deadline 3000
        assertThat(integer(Scripts.SYNC, syncKeys, id, 3, 0, "3000", null, null, "f"))
                .isEqualTo(1);
        // version 2 arrives late: running with a lease; ignored
        assertThat(integer(Scripts.SYNC, syncKeys, id, 2, 1, null, "2000", null, "f"))
                .isZero();
        assertThat(redis.zscore(k.deadlines(), b(id))).isEqualTo(3000.0);
        assertThat(redis.zscore(k.leases(), b(id))).isNull();
        assertThat(redis.zscore(k.status(dev.stasis.FlowStatus.SUSPENDED), b(id))).isZero();
        assertThat(redis.zscore(k.status(dev.stasis.FlowStatus.RUNNING), b(id))).isNull();

        // pre-index for a later version: adds the status, moves the deadline only earlier
        List<String> preKeys = List.of(k.ids(), k.name("f"), k.names(), k.status(dev.stasis.FlowStatus.RUNNING),
                k.deadlines(), k.leases());
        integer(Scripts.PRE_INDEX, preKeys, id, "f", "9000", "4000");
        assertThat(redis.zscore(k.deadlines(), b(id))).isEqualTo(3000.0);
        integer(Scripts.PRE_INDEX, preKeys, id, "f", "1000", null);
        assertThat(redis.zscore(k.deadlines(), b(id))).isEqualTo(1000.0);
        assertThat(redis.zscore(k.leases(), b(id))).isEqualTo(4000.0);
        assertThat(redis.zscore(k.status(dev.stasis.FlowStatus.RUNNING), b(id))).isZero();

        // version 4 (completed, expiring at 5000) makes it exact again
        integer(Scripts.SYNC, syncKeys, id, 4, 2, null, null, "5000", "f");
        assertThat(redis.zscore(k.deadlines(), b(id))).isNull();
        assertThat(redis.zscore(k.leases(), b(id))).isNull();
        assertThat(redis.zscore(k.retain(), b(id))).isEqualTo(5000.0);
        assertThat(redis.zscore(k.status(dev.stasis.FlowStatus.RUNNING), b(id))).isNull();
        assertThat(redis.zscore(k.status(dev.stasis.FlowStatus.COMPLETED), b(id))).isZero();
        assertThat(redis.hget(k.versions(), id)).isEqualTo(b("4"));

        List<String> purgeKeys = new java.util.ArrayList<>(List.of(k.versions(), k.names(), k.ids(), k.deadlines(),
                k.leases(), k.retain()));
        for (var st : Keys.STATUSES) {
            purgeKeys.add(k.status(st));
        }
        purgeKeys.add(k.name("f"));
        integer(Scripts.PURGE, purgeKeys, id);
        for (String key : purgeKeys) {
            assertThat(redis.exists(key)).as(key + " is empty, so gone").isZero();
        }
    }

    @Test
    void unknownScriptsFallBackToEval() {
        redis.scriptFlush();
        String key = p + ":corr:fallback";
        assertThat(multi(Scripts.CLAIM, List.of(key), "A", 60_000, null))
                .containsExactly(1L);
        assertThat(redis.scriptExists(Scripts.CLAIM.sha())).containsExactly(true);
    }
}
