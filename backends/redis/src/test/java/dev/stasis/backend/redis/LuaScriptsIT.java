package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
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
        List<String> keys = redis.keys(p + "*");
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

    // ------------------------------------------------------------------ the standalone one-step scripts

    /** A prefix of their own: the test above checks that the index keys of {@code p} end up empty. */
    private final Keys k = new Keys(p + "-one");

    /** A record in the store's encoding: suspended ones have a deadline, running ones a lease, finished ones retain. */
    private static FlowRecord flow(String id, String name, FlowStatus status, long version, @Nullable String corr,
            String... hashes) {
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : hashes) {
            waits.add(new WaitRecord(h, "await-" + waits.size(), Instant.ofEpochMilli(2_000_000),
                    WaitRecord.Status.PENDING));
        }
        return FlowRecord.builder()
                .id(id).flowName(name).flowVersion(1).status(status).version(version)
                .createdAt(Instant.ofEpochMilli(1_000_000)).updatedAt(Instant.ofEpochMilli(1_000_000 + version))
                .deadline(status == FlowStatus.SUSPENDED ? Instant.ofEpochMilli(2_000_000 + version) : null)
                .correlationId(corr)
                .waits(waits)
                .leaseOwner(status == FlowStatus.RUNNING ? "hub" : null)
                .leaseExpiresAt(status == FlowStatus.RUNNING ? Instant.ofEpochMilli(3_000_000 + version) : null)
                .retainUntil(status.isTerminal() ? Instant.ofEpochMilli(4_000_000) : null)
                .metadata(Map.of("k", "v"))
                .state(new byte[] {9, 8, 7})
                .build();
    }

    private static String ms(@Nullable Instant t) {
        return t == null ? "" : Long.toString(t.toEpochMilli());
    }

    private List<String> oneStepKeys(FlowRecord r, List<String> more) {
        List<String> keys = new ArrayList<>();
        keys.add(k.record(r.id()));
        keys.addAll(k.indexKeys(r.flowName()));
        keys.addAll(more);
        return keys;
    }

    /** The arguments every standalone write script starts with, per its javadoc. */
    private static List<Object> indexArgs(FlowRecord r, @Nullable Long expireAt) {
        List<Object> a = new ArrayList<>();
        a.add(r.id());
        a.add(r.version());
        a.add(r.status().ordinal());
        a.add(r.status() == FlowStatus.SUSPENDED ? ms(r.deadline()) : "");
        a.add(r.status() == FlowStatus.RUNNING ? ms(r.leaseExpiresAt()) : "");
        a.add(expireAt == null ? "" : expireAt.toString());
        a.add(r.flowName());
        return a;
    }

    /** INSERT_ONE with the hints in the store's order (correlation first); {@code holders}: 1-based hint → flow id. */
    private List<Object> insertOne(FlowRecord r, @Nullable Long expireAt, Map<Integer, String> holders) {
        List<String> hints = new ArrayList<>();
        if (r.correlationId() != null) {
            hints.add(k.correlation(r.correlationId()));
        }
        r.keyHashes().forEach(h -> hints.add(k.keyHash(h)));
        List<String> more = new ArrayList<>(hints);
        List<Object> a = indexArgs(r, expireAt);
        a.add(hints.size());
        for (int i = 1; i <= hints.size(); i++) {
            String holder = holders.get(i);
            a.add(holder == null ? "" : "=" + holder);
            if (holder != null) {
                more.add(k.record(holder));
            }
        }
        a.add(RecordCodec.encode(r));
        return multi(Scripts.INSERT_ONE, oneStepKeys(r, more), a.toArray());
    }

    private List<Object> compareAndSetOne(long expected, FlowRecord next, @Nullable Long expireAt,
            List<String> dropping) {
        List<String> more = new ArrayList<>();
        List<Object> a = indexArgs(next, expireAt);
        boolean corr = expireAt != null && next.correlationId() != null;
        a.add(expected);
        a.add(next.keyHashes().size());
        a.add(dropping.size());
        a.add(corr ? 1 : 0);
        for (String h : next.keyHashes()) {
            more.add(k.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        for (String h : dropping) {
            more.add(k.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        if (corr) {
            more.add(k.correlation(next.correlationId()));
        }
        a.add(RecordCodec.encode(next));
        return multi(Scripts.COMPARE_AND_SET_ONE, oneStepKeys(next, more), a.toArray());
    }

    private List<Object> deleteOne(String id, long expected, String name, @Nullable String corr,
            List<String> hashes) {
        List<String> keys = new ArrayList<>();
        keys.add(k.record(id));
        keys.addAll(k.indexKeys(name));
        List<Object> a = new ArrayList<>(List.of(id, expected, name, corr == null ? "" : "=" + corr, hashes.size(),
                corr == null ? 0 : 1));
        for (String h : hashes) {
            keys.add(k.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        if (corr != null) {
            keys.add(k.correlation(corr));
        }
        return multi(Scripts.DELETE_ONE, keys, a.toArray());
    }

    /** Everything stored under this class's prefix: key → serialized value and absolute expiry. */
    private Map<String, String> snapshot() {
        Map<String, String> all = new TreeMap<>();
        for (String key : redis.keys(k.prefix() + ":*")) {
            all.put(key, HexFormat.of().formatHex(redis.dump(key)) + " expires " + redis.pexpiretime(key));
        }
        return all;
    }

    /** Every global index describes exactly this record (with this retain score). */
    private void assertIndexedExactly(FlowRecord r, @Nullable Long retain) {
        byte[] id = b(r.id());
        assertThat(redis.zscore(k.ids(), id)).as("ids").isZero();
        assertThat(redis.zscore(k.name(r.flowName()), id)).as("name set").isZero();
        for (FlowStatus st : Keys.STATUSES) {
            assertThat(redis.zscore(k.status(st), id)).as("status " + st).isEqualTo(st == r.status() ? 0.0 : null);
        }
        assertThat(redis.zscore(k.deadlines(), id)).as("deadline").isEqualTo(
                r.status() == FlowStatus.SUSPENDED && r.deadline() != null
                        ? (Double) (double) r.deadline().toEpochMilli() : null);
        assertThat(redis.zscore(k.leases(), id)).as("lease").isEqualTo(
                r.status() == FlowStatus.RUNNING && r.leaseExpiresAt() != null
                        ? (Double) (double) r.leaseExpiresAt().toEpochMilli() : null);
        assertThat(redis.zscore(k.retain(), id)).as("retain").isEqualTo(retain == null ? null : (double) retain);
        assertThat(redis.hget(k.versions(), r.id())).as("ver").isEqualTo(b(Long.toString(r.version())));
        assertThat(redis.hget(k.names(), r.id())).as("names").isEqualTo(b(r.flowName()));
    }

    private void assertNotIndexed(String id, String name) {
        byte[] member = b(id);
        List<String> sets = new ArrayList<>(List.of(k.ids(), k.name(name), k.deadlines(), k.leases(), k.retain()));
        for (FlowStatus st : Keys.STATUSES) {
            sets.add(k.status(st));
        }
        for (String set : sets) {
            assertThat(redis.zscore(set, member)).as(set).isNull();
        }
        assertThat(redis.hget(k.versions(), id)).isNull();
        assertThat(redis.hget(k.names(), id)).isNull();
    }

    private static String id(String label) {
        return label + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void oneStepInsertWritesRecordHintsAndExactIndexesTogether() {
        String name = id("ins");
        FlowRecord a = flow(id("A"), name, FlowStatus.SUSPENDED, 1, id("corr"), id("h1"), id("h2"));
        assertThat(insertOne(a, null, Map.of())).containsExactly(1L);
        assertThat(RecordCodec.decode(redis.hgetall(k.record(a.id())))).usingRecursiveComparison().isEqualTo(a);
        assertThat(redis.get(k.correlation(a.correlationId()))).isEqualTo(b(a.id()));
        for (String h : a.keyHashes()) {
            assertThat(redis.get(k.keyHash(h))).isEqualTo(b(a.id()));
            assertThat(redis.pttl(k.keyHash(h))).as("settled, no pending TTL").isEqualTo(-1);
        }
        assertIndexedExactly(a, null);

        // a finished record: record and hints expire at expire-at, which is also the retain score
        long at = System.currentTimeMillis() + 600_000;
        FlowRecord done = flow(id("D"), name, FlowStatus.COMPLETED, 1, id("corr"), id("h"));
        assertThat(insertOne(done, at, Map.of())).containsExactly(1L);
        for (String key : List.of(k.record(done.id()), k.keyHash(done.keyHashes().get(0)),
                k.correlation(done.correlationId()))) {
            assertThat(redis.pexpiretime(key)).as(key).isEqualTo(at);
        }
        assertIndexedExactly(done, at);

        // the same flow id again, and a fenced-out flow id: nothing written
        Map<String, String> before = snapshot();
        assertThat(insertOne(flow(a.id(), name, FlowStatus.SUSPENDED, 1, null, id("h3")), null, Map.of()))
                .containsExactly(0L);
        String fenced = id("F");
        integer(Scripts.FENCE, List.of(k.record(fenced)), 60_000);
        Map<String, String> fencedState = snapshot();
        assertThat(insertOne(flow(fenced, name, FlowStatus.SUSPENDED, 1, null, id("h4")), null, Map.of()))
                .containsExactly(2L);
        assertThat(snapshot()).isEqualTo(fencedState);
        redis.del(k.record(fenced));
        assertThat(snapshot()).isEqualTo(before);
    }

    @Test
    void oneStepInsertConflictingOnAKeyHashWritesNothing() {
        String name = id("conflict");
        String shared = id("shared");
        FlowRecord a = flow(id("A"), name, FlowStatus.SUSPENDED, 1, null, shared);
        assertThat(insertOne(a, null, Map.of())).containsExactly(1L);
        FlowRecord b = flow(id("B"), name, FlowStatus.SUSPENDED, 1, id("corr"), id("fresh"), shared);
        Map<String, String> before = snapshot();
        assertThat(before).containsKeys(k.record(a.id()), k.keyHash(shared), k.ids(), k.versions());

        // hints: 1 = correlation, 2 = fresh, 3 = shared. The holder of 3 was not declared: named, nothing written
        List<Object> needs = insertOne(b, null, Map.of());
        assertThat(needs).hasSize(3);
        assertThat(needs.get(0)).isEqualTo(5L);
        assertThat(needs.get(1)).isEqualTo(3L);
        assertThat(s(needs.get(2))).isEqualTo(a.id());
        assertThat(snapshot()).isEqualTo(before);

        // declared: a live record holds it, a duplicate; still nothing written
        List<Object> conflict = insertOne(b, null, Map.of(3, a.id()));
        assertThat(conflict.get(0)).isEqualTo(3L);
        assertThat(conflict.get(1)).isEqualTo(3L);
        assertThat(s(conflict.get(2))).isEqualTo(a.id());
        assertThat(snapshot()).isEqualTo(before);
        assertThat(redis.exists(k.record(b.id()), k.keyHash(b.keyHashes().get(0)), k.correlation(b.correlationId())))
                .isZero();
        assertNotIndexed(b.id(), name);

        // a correlation id held by a live record conflicts the same way
        FlowRecord c = flow(id("C"), name, FlowStatus.SUSPENDED, 1, id("corr"), id("c1"));
        assertThat(insertOne(c, null, Map.of())).containsExactly(1L);
        FlowRecord d = flow(id("D"), name, FlowStatus.SUSPENDED, 1, c.correlationId(), id("d1"));
        before = snapshot();
        List<Object> corr = insertOne(d, null, Map.of(1, c.id()));
        assertThat(corr.get(0)).isEqualTo(3L);
        assertThat(corr.get(1)).isEqualTo(1L);
        assertThat(snapshot()).isEqualTo(before);
    }

    @Test
    void oneStepInsertTakesStaleHintsOverAndLeavesClaimsInFlightToTheMultiStepPath() {
        String name = id("stale");
        // a settled hint whose record is gone (an interrupted delete): taken over
        String staleHash = id("stale");
        redis.set(k.keyHash(staleHash), b("gone"));
        FlowRecord a = flow(id("A"), name, FlowStatus.SUSPENDED, 1, null, staleHash);
        assertThat(insertOne(a, null, Map.of(1, "gone"))).containsExactly(1L);
        assertThat(redis.get(k.keyHash(staleHash))).isEqualTo(b(a.id()));

        // a pending claim of an insert in flight (no record yet): not decided here, nothing written
        String claimed = id("claimed");
        redis.set(k.keyHash(claimed), b("?inflight"), SetArgs.Builder.px(60_000));
        FlowRecord c = flow(id("C"), name, FlowStatus.SUSPENDED, 1, null, id("c1"), claimed);
        Map<String, String> before = snapshot();
        List<Object> pending = insertOne(c, null, Map.of(2, "inflight"));
        assertThat(pending.get(0)).isEqualTo(4L);
        assertThat(pending.get(1)).isEqualTo(2L);
        assertThat(s(pending.get(2))).isEqualTo("?inflight");
        assertThat(snapshot()).isEqualTo(before);

        // once that insert is fenced out its claim is stale, and taken over (the pending TTL goes)
        integer(Scripts.FENCE, List.of(k.record("inflight")), 60_000);
        assertThat(insertOne(c, null, Map.of(2, "inflight"))).containsExactly(1L);
        assertThat(redis.get(k.keyHash(claimed))).isEqualTo(b(c.id()));
        assertThat(redis.pttl(k.keyHash(claimed))).isEqualTo(-1);

        // a pending claim whose record exists (its insert died before settling) is a conflict
        String unsettled = id("unsettled");
        redis.set(k.keyHash(unsettled), b("?" + a.id()));
        FlowRecord d = flow(id("D"), name, FlowStatus.SUSPENDED, 1, null, unsettled);
        List<Object> dup = insertOne(d, null, Map.of(1, a.id()));
        assertThat(dup.get(0)).isEqualTo(3L);
        assertThat(s(dup.get(2))).isEqualTo("?" + a.id());

        // our own pending claim is ours
        String mine = id("mine");
        FlowRecord e = flow(id("E"), name, FlowStatus.SUSPENDED, 1, null, mine);
        redis.set(k.keyHash(mine), b("?" + e.id()), SetArgs.Builder.px(60_000));
        assertThat(insertOne(e, null, Map.of())).containsExactly(1L);
        assertThat(redis.get(k.keyHash(mine))).isEqualTo(b(e.id()));
        assertThat(redis.pttl(k.keyHash(mine))).isEqualTo(-1);
    }

    @Test
    void oneStepCompareAndSetDropsOnlyHintsThatStillPointToThisFlow() {
        String name = id("cas");
        String h1 = id("h1");
        String h2 = id("h2");
        String odd = "odd hash/+:,%" + UUID.randomUUID();   // encoded in the waits field: compared as encoded
        FlowRecord v1 = flow(id("A"), name, FlowStatus.SUSPENDED, 1, id("corr"), h1, h2, odd);
        insertOne(v1, null, Map.of());
        redis.set(k.keyHash(h2), b("elsewhere"));   // h2's hint now points to another flow
        String h3 = id("h3");
        FlowRecord v2 = flow(v1.id(), name, FlowStatus.RUNNING, 2, v1.correlationId(), h3);

        // the stored record holds hashes the caller did not declare as dropped: named, nothing written
        Map<String, String> before = snapshot();
        List<Object> needs = compareAndSetOne(1, v2, null, List.of(h1));
        assertThat(needs.get(0)).isEqualTo(2L);
        assertThat(RecordCodec.keyHashes(s(needs.get(1)))).containsExactly(h1, h2, odd);
        assertThat(snapshot()).isEqualTo(before);

        assertThat(compareAndSetOne(1, v2, null, List.of(h1, h2, odd))).containsExactly(1L);
        assertThat(RecordCodec.decode(redis.hgetall(k.record(v1.id())))).usingRecursiveComparison().isEqualTo(v2);
        assertThat(redis.exists(k.keyHash(h1))).as("dropped").isZero();
        assertThat(redis.exists(k.keyHash(odd))).as("dropped").isZero();
        assertThat(redis.get(k.keyHash(h2))).as("points elsewhere: left alone").isEqualTo(b("elsewhere"));
        assertThat(redis.get(k.keyHash(h3))).isEqualTo(b(v1.id()));
        assertIndexedExactly(v2, null);

        // stale and missing versions
        before = snapshot();
        assertThat(compareAndSetOne(1, v2, null, List.of())).containsExactly(0L);
        assertThat(snapshot()).isEqualTo(before);
        FlowRecord ghost = flow(id("G"), name, FlowStatus.RUNNING, 2, null, id("g"));
        redis.zadd(k.ids(), 0, b(ghost.id()));
        redis.zadd(k.status(FlowStatus.RUNNING), 0, b(ghost.id()));
        redis.hset(k.versions(), ghost.id(), b("1"));
        assertThat(compareAndSetOne(1, ghost, null, List.of())).as("no record").containsExactly(-1L);
        assertNotIndexed(ghost.id(), name);
        assertThat(redis.exists(k.keyHash(ghost.keyHashes().get(0)), k.record(ghost.id()))).isZero();

        // to a finished record: hints and correlation hint get the record's expiry; the hash kept stays
        long at = System.currentTimeMillis() + 600_000;
        FlowRecord v3 = flow(v1.id(), name, FlowStatus.COMPLETED, 3, v1.correlationId(), h3);
        assertThat(compareAndSetOne(2, v3, at, List.of())).containsExactly(1L);
        for (String key : List.of(k.record(v1.id()), k.keyHash(h3), k.correlation(v1.correlationId()))) {
            assertThat(redis.pexpiretime(key)).as(key).isEqualTo(at);
        }
        assertIndexedExactly(v3, at);
        // and back to no expiry (the hash is replaced as a whole)
        FlowRecord v4 = flow(v1.id(), name, FlowStatus.SUSPENDED, 4, v1.correlationId(), h3);
        assertThat(compareAndSetOne(3, v4, null, List.of())).containsExactly(1L);
        assertThat(redis.pttl(k.record(v1.id()))).isEqualTo(-1);
        assertIndexedExactly(v4, null);
    }

    @Test
    void oneStepIndexUpdatesNeverUndoANewerVersion() {
        String name = id("late");
        FlowRecord v1 = flow(id("A"), name, FlowStatus.SUSPENDED, 1, null, id("h"));
        insertOne(v1, null, Map.of());
        FlowRecord v2 = flow(v1.id(), name, FlowStatus.RUNNING, 2, null, v1.keyHashes().get(0));
        // a reader's repair already described version 5 (as the multi-step SYNC leaves it): the write keeps it
        List<String> syncKeys = k.indexKeys(name);
        integer(Scripts.SYNC, syncKeys, v1.id(), 5, FlowStatus.CANCELLED.ordinal(), null, null, null, name);
        assertThat(compareAndSetOne(1, v2, null, List.of())).containsExactly(1L);
        assertThat(redis.hget(k.versions(), v1.id())).isEqualTo(b("5"));
        assertThat(redis.zscore(k.status(FlowStatus.CANCELLED), b(v1.id()))).isZero();
        assertThat(redis.zscore(k.status(FlowStatus.RUNNING), b(v1.id()))).isNull();
    }

    @Test
    void oneStepDeleteNeedsTheRecordsFieldsAndCleansUpEverything() {
        String name = id("del");
        String h1 = id("h1");
        String h2 = id("h2");
        FlowRecord a = flow(id("A"), name, FlowStatus.COMPLETED, 1, id("corr"), h1, h2);
        insertOne(a, null, Map.of());
        redis.set(k.keyHash(h2), b("elsewhere"));

        Map<String, String> before = snapshot();
        assertThat(deleteOne(a.id(), 2, name, a.correlationId(), a.keyHashes())).containsExactly(0L);
        List<Object> needs = deleteOne(a.id(), 1, "", null, List.of());
        assertThat(needs.get(0)).isEqualTo(2L);
        assertThat(s(needs.get(1))).isEqualTo(name);
        assertThat(RecordCodec.keyHashes(s(needs.get(2)))).containsExactly(h1, h2);
        assertThat(s(needs.get(3))).isEqualTo("=" + a.correlationId());
        assertThat(deleteOne(a.id(), 1, name, a.correlationId(), List.of(h1)).get(0)).as("a hash missing")
                .isEqualTo(2L);
        assertThat(deleteOne(a.id(), 1, name, null, a.keyHashes()).get(0)).as("correlation missing").isEqualTo(2L);
        assertThat(snapshot()).isEqualTo(before);

        assertThat(deleteOne(a.id(), 1, name, a.correlationId(), a.keyHashes())).containsExactly(1L);
        assertThat(redis.exists(k.record(a.id()), k.keyHash(h1), k.correlation(a.correlationId()))).isZero();
        assertThat(redis.get(k.keyHash(h2))).as("points elsewhere: left alone").isEqualTo(b("elsewhere"));
        assertNotIndexed(a.id(), name);
    }

    @Test
    void oneStepFollowReturnsTheHintAndTheRecordItNames() {
        String name = id("follow");
        FlowRecord a = flow(id("A"), name, FlowStatus.SUSPENDED, 1, null, id("h"));
        insertOne(a, null, Map.of());
        List<Object> found = multi(Scripts.FOLLOW_ONE, List.of(k.keyHash(a.keyHashes().get(0))), k.recordPrefix(),
                Keys.RECORD_SUFFIX);
        assertThat(s(found.get(0))).isEqualTo(a.id());
        Map<String, byte[]> fields = new LinkedHashMap<>();
        for (int i = 1; i < found.size(); i += 2) {
            fields.put(s(found.get(i)), (byte[]) found.get(i + 1));
        }
        assertThat(RecordCodec.decode(fields)).usingRecursiveComparison().isEqualTo(a);

        assertThat(multi(Scripts.FOLLOW_ONE, List.of(k.keyHash(id("none"))), k.recordPrefix(), Keys.RECORD_SUFFIX))
                .isEmpty();
        String dangling = id("dangling");
        redis.set(k.keyHash(dangling), b("?gone"));
        List<Object> pending = multi(Scripts.FOLLOW_ONE, List.of(k.keyHash(dangling)), k.recordPrefix(),
                Keys.RECORD_SUFFIX);
        assertThat(pending).hasSize(1);
        assertThat(s(pending.get(0))).isEqualTo("?gone");
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
