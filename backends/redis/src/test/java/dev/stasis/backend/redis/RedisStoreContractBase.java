package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.WaitRecord;
import dev.stasis.tck.AbstractStateStoreContractTest;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The contract suite plus Redis-specific checks (TTLs, verified hints, repairs), run against a standalone server by
 * {@link RedisStoreIT} and against a cluster by {@link RedisClusterStoreIT}. Each class gets a random key prefix whose
 * keys are deleted afterwards.
 */
abstract class RedisStoreContractBase extends AbstractStateStoreContractTest {

    /** The prefix of this class's keys. */
    protected final String prefix = "stasis-it-" + UUID.randomUUID().toString().substring(0, 8);
    /** Plain Redis commands, for the side channel. */
    protected RedisSideChannel side;

    /**
     * A builder on the class's client.
     *
     * @return a builder
     */
    protected abstract RedisStore.Builder storeBuilder();

    /**
     * A synchronous connection of the test's own (String keys, byte[] values).
     *
     * @return the commands
     */
    protected abstract RedisClusterCommands<String, byte[]> sideChannelCommands();

    /** Closes the side channel's connection and the clients. */
    protected abstract void closeClients();

    @Override
    protected StateStore createStore() {
        side = new RedisSideChannel(sideChannelCommands(), prefix);
        return storeBuilder().keyPrefix(prefix).build();
    }

    @Override
    protected void disposeStore(StateStore store) throws Exception {
        try {
            super.disposeStore(store);
            side.deleteAll();
            assertThat(side.countKeys()).as("keys left under " + prefix).isZero();
        } finally {
            closeClients();
        }
    }

    @Override
    protected byte[] rawState(String flowId) {
        return side.rawState(flowId);
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        side.rawReplaceState(flowId, state);
    }

    @Override
    protected String rawDump(String flowId) {
        return side.rawDump(flowId);
    }

    // ------------------------------------------------------------------ helpers

    static <T> Mono<T> par(Mono<T> mono) {
        return mono.subscribeOn(Schedulers.parallel());
    }

    static <T> Flux<T> par(Flux<T> flux) {
        return flux.subscribeOn(Schedulers.parallel());
    }

    static String hash() {
        return ResumeKeys.hash(ResumeKeys.generate());
    }

    static Instant nowMillis() {
        return Instant.ofEpochMilli(System.currentTimeMillis());
    }

    static FlowRecord record(String name, FlowStatus status, Instant created, String... hashes) {
        List<WaitRecord> waits = new java.util.ArrayList<>();
        for (String h : hashes) {
            waits.add(new WaitRecord(h, "w-" + h.substring(0, 4), created.plusSeconds(60), WaitRecord.Status.PENDING));
        }
        byte[] state = new byte[32];
        ThreadLocalRandom.current().nextBytes(state);
        return FlowRecord.builder()
                .id(dev.stasis.internal.FlowIds.next(created))
                .flowName(name)
                .flowVersion(1)
                .status(status)
                .version(1)
                .createdAt(created)
                .updatedAt(created)
                .deadline(status == FlowStatus.SUSPENDED && hashes.length > 0 ? created.plusSeconds(60) : null)
                .waits(waits)
                .metadata(Map.of("k", "v"))
                .state(state)
                .build();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ Redis-specific checks

    @Test
    @DisplayName("redis: a finished record and its hints expire at retainUntil + margin; a suspended one never")
    void finishedRecordsExpire() {
        Instant now = nowMillis();
        String h = hash();
        String corr = "corr-ttl-" + UUID.randomUUID();
        FlowRecord suspended = record("ttl-" + UUID.randomUUID(), FlowStatus.SUSPENDED, now, h).toBuilder()
                .correlationId(corr).build();
        par(store.insert(suspended)).as(StepVerifier::create).verifyComplete();
        RedisClusterCommands<String, byte[]> redis = side.redis();
        assertThat(redis.pttl(side.record(suspended.id()))).isEqualTo(-1L);
        assertThat(redis.pttl(side.keyHash(h))).isEqualTo(-1L);
        assertThat(redis.pttl(side.correlation(corr))).isEqualTo(-1L);

        Instant retain = now.plus(Duration.ofMinutes(10));
        FlowRecord completed = suspended.toBuilder().version(2).status(FlowStatus.COMPLETED).deadline(null)
                .retainUntil(retain).build();
        par(store.compareAndSet(1, completed)).as(StepVerifier::create).expectNext(true).verifyComplete();
        long expected = retain.plus(Duration.ofHours(1)).toEpochMilli() - System.currentTimeMillis();
        for (String key : List.of(side.record(completed.id()), side.keyHash(h), side.correlation(corr))) {
            assertThat(redis.pttl(key)).as(key).isBetween(expected - 60_000, expected + 1_000);
        }
        assertThat(redis.zscore(side.index("retain"), bytes(completed.id())))
                .isEqualTo((double) retain.plus(Duration.ofHours(1)).toEpochMilli());
    }

    @Test
    @DisplayName("redis: a key-hash hint is trusted only if the record it points to holds that hash")
    void keyHashHintsAreVerified() {
        String h = hash();
        FlowRecord r = record("hint-" + UUID.randomUUID(), FlowStatus.SUSPENDED, nowMillis(), h);
        par(store.insert(r)).block();
        String foreign = hash();
        side.redis().set(side.keyHash(foreign), bytes(r.id()));
        String dangling = hash();
        side.redis().set(side.keyHash(dangling), bytes("00000000000000000000000000000000"));
        par(store.findByKeyHash(foreign)).as(StepVerifier::create).verifyComplete();
        par(store.findByKeyHash(dangling)).as(StepVerifier::create).verifyComplete();
        par(store.findByKeyHash(h)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(r.id()))
                .verifyComplete();
        side.redis().del(side.keyHash(foreign), side.keyHash(dangling));
    }

    @Test
    @DisplayName("redis: dueForTimeout skips and repairs stale deadline entries")
    void staleDeadlineEntriesAreRepaired() {
        // in the past, but after the dates the kit's own timeout and lease tests use (1971-1975), so that neither
        // sees the other's records
        Instant base = Instant.parse("1977-01-01T00:00:00Z")
                .plusSeconds(ThreadLocalRandom.current().nextInt(1000) * 86400L);
        String name = "stale-" + UUID.randomUUID();
        FlowRecord due = record(name, FlowStatus.SUSPENDED, base, hash()).toBuilder()
                .deadline(base.plusSeconds(50)).build();
        FlowRecord running = record(name, FlowStatus.RUNNING, base, hash()).toBuilder()
                .leaseOwner("x").leaseExpiresAt(base.plusSeconds(3000)).build();
        par(store.insert(due)).block();
        par(store.insert(running)).block();
        String ghost = dev.stasis.internal.FlowIds.next(base);
        side.redis().zadd(side.index("deadlines"), (double) base.plusSeconds(5).toEpochMilli(), bytes(ghost));
        side.redis().zadd(side.index("deadlines"), (double) base.plusSeconds(6).toEpochMilli(), bytes(running.id()));
        // a wrong (too early) score of a real entry: not returned early, and corrected
        side.redis().zadd(side.index("deadlines"), (double) base.plusSeconds(7).toEpochMilli(), bytes(due.id()));

        assertThat(par(store.dueForTimeout(base.plusSeconds(20), 10_000)).filter(r -> r.flowName().equals(name))
                .collectList().block()).isEmpty();
        assertThat(par(store.dueForTimeout(base.plusSeconds(100), 10_000)).filter(r -> r.flowName().equals(name))
                .map(FlowRecord::id).collectList().block())
                .containsExactly(due.id());
        assertThat(side.redis().zscore(side.index("deadlines"), bytes(ghost))).isNull();
        assertThat(side.redis().zscore(side.index("deadlines"), bytes(running.id()))).isNull();
        assertThat(side.redis().zscore(side.index("deadlines"), bytes(due.id())))
                .isEqualTo((double) base.plusSeconds(50).toEpochMilli());
    }

    @Test
    @DisplayName("redis: a status query skips and repairs a stale status entry")
    void staleStatusEntriesAreRepaired() {
        FlowRecord r = record("status-" + UUID.randomUUID(), FlowStatus.SUSPENDED, nowMillis(), hash());
        par(store.insert(r)).block();
        side.redis().zadd(side.index("status:CANCELLED"), 0, bytes(r.id()));
        List<String> cancelled = par(store.query(QueryCriteria.builder().status(FlowStatus.CANCELLED)
                .limit(QueryCriteria.MAX_LIMIT).build())).map(FlowRecord::id).collectList().block();
        assertThat(cancelled).doesNotContain(r.id());
        assertThat(side.redis().zscore(side.index("status:CANCELLED"), bytes(r.id()))).isNull();
        assertThat(side.redis().zscore(side.index("status:SUSPENDED"), bytes(r.id()))).isZero();
    }

    @Test
    @DisplayName("redis: a settled correlation hint whose record is gone is taken over by the next insert")
    void staleCorrelationHintIsTakenOver() {
        String corr = "corr-stale-" + UUID.randomUUID();
        FlowRecord first = record("corr-" + UUID.randomUUID(), FlowStatus.RUNNING, nowMillis()).toBuilder()
                .correlationId(corr).build();
        par(store.insert(first)).block();
        side.redis().del(side.record(first.id()));   // as if a delete's clean-up had been interrupted
        FlowRecord second = record(first.flowName(), FlowStatus.RUNNING, nowMillis()).toBuilder()
                .correlationId(corr).build();
        par(store.insert(second)).as(StepVerifier::create).verifyComplete();
        par(store.findByCorrelationId(corr)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(second.id()))
                .verifyComplete();
        assertThat(side.redis().pttl(side.correlation(corr))).isEqualTo(-1L);
    }

    @Test
    @DisplayName("redis: a pending claim of an insert that went silent is fenced out after the grace period")
    void silentInsertIsFencedOut() {
        String corr = "corr-silent-" + UUID.randomUUID();
        String silent = dev.stasis.internal.FlowIds.next(nowMillis());
        // what an insert that claimed and then died (or stalled) before writing its record leaves behind
        side.redis().set(side.correlation(corr), bytes("?" + silent),
                SetArgs.Builder.px(RedisStore.PENDING_CLAIM_TTL.toMillis()));
        FlowRecord r = record("silent-" + UUID.randomUUID(), FlowStatus.RUNNING, nowMillis()).toBuilder()
                .correlationId(corr).build();
        long t0 = System.nanoTime();
        par(store.insert(r)).as(StepVerifier::create).verifyComplete();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("waited for the grace period")
                .isGreaterThanOrEqualTo(RedisStore.CLAIM_GRACE.minusMillis(500));
        par(store.findByCorrelationId(corr)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(r.id()))
                .verifyComplete();
        // the silent insert can never write its record now
        assertThat(side.redis().hget(side.record(silent), "aborted")).isEqualTo(bytes("1"));
        par(store.findById(silent)).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("redis: a pending claim whose record was written is a conflict, and gets settled")
    void pendingClaimWithRecordIsSettled() {
        String corr = "corr-unsettled-" + UUID.randomUUID();
        FlowRecord first = record("unsettled-" + UUID.randomUUID(), FlowStatus.RUNNING, nowMillis()).toBuilder()
                .correlationId(corr).build();
        par(store.insert(first)).block();
        // as if its insert had died between writing the record and settling the claim
        side.redis().set(side.correlation(corr), bytes("?" + first.id()),
                SetArgs.Builder.px(RedisStore.PENDING_CLAIM_TTL.toMillis()));
        FlowRecord second = record(first.flowName(), FlowStatus.RUNNING, nowMillis()).toBuilder()
                .correlationId(corr).build();
        par(store.insert(second)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        assertThat(side.redis().get(side.correlation(corr))).isEqualTo(bytes(first.id()));
        assertThat(side.redis().pttl(side.correlation(corr))).isEqualTo(-1L);
        par(store.findByCorrelationId(corr)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(first.id()))
                .verifyComplete();
    }

    @Test
    @DisplayName("redis: a failed insert leaves no claim behind")
    void failedInsertReleasesClaims() {
        String corr = "corr-dup-" + UUID.randomUUID();
        FlowRecord r = record("dup-" + UUID.randomUUID(), FlowStatus.SUSPENDED, nowMillis(), hash()).toBuilder()
                .correlationId(corr).build();
        par(store.insert(r)).block();
        String fresh = hash();
        FlowRecord clash = record(r.flowName(), FlowStatus.SUSPENDED, nowMillis(), fresh).toBuilder()
                .correlationId(corr).build();
        par(store.insert(clash)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        assertThat(side.redis().exists(side.keyHash(fresh))).isZero();
        assertThat(side.redis().exists(side.record(clash.id()))).isZero();
        // same flow id again: the first record's claims stay
        par(store.insert(r)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        assertThat(side.redis().get(side.correlation(corr))).isEqualTo(bytes(r.id()));
        assertThat(side.redis().get(side.keyHash(r.keyHashes().get(0)))).isEqualTo(bytes(r.id()));
    }

    @Test
    @DisplayName("redis: deleteMatching sweeps the index entries of records that expired by TTL")
    void expiredRecordsAreSwept() {
        Instant now = nowMillis();
        // retention ended more than the margin ago: the record expires as soon as it is written
        FlowRecord gone = record("swept-" + UUID.randomUUID(), FlowStatus.COMPLETED, now.minusSeconds(7200), hash())
                .toBuilder().retainUntil(now.minusSeconds(7200)).build();
        par(store.insert(gone)).block();
        assertThat(side.redis().exists(side.record(gone.id()))).isZero();
        assertThat(side.redis().zscore(side.index("ids"), bytes(gone.id()))).isNotNull();
        par(store.deleteMatching(QueryCriteria.builder().flowName("nothing-" + UUID.randomUUID()).build()))
                .as(StepVerifier::create).expectNext(0L).verifyComplete();
        assertThat(side.rawDump(gone.id())).doesNotContain(":ids").doesNotContain(":retain")
                .doesNotContain(":name:").doesNotContain(":ver[");
    }

    @Test
    @DisplayName("redis: health reports the server version and the mode")
    void healthDetails() {
        par(store.health()).as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.store()).isEqualTo("redis");
                    assertThat(h.up()).isTrue();
                    assertThat(h.details().get("redisVersion")).matches("\\d+\\.\\d+\\.\\d+");
                    assertThat(h.details()).containsEntry("keyPrefix", prefix).containsKey("mode");
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("redis: a closed store refuses work and leaves the application's client open")
    void closedStore() {
        RedisStore other = storeBuilder().keyPrefix(prefix).build();
        par(other.provision()).as(StepVerifier::create).verifyComplete();
        par(other.close()).as(StepVerifier::create).verifyComplete();
        par(other.findById("00000000000000000000000000000000")).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isExactlyInstanceOf(StorageException.class)
                        .isNotInstanceOf(StorageUnavailableException.class));
        par(store.health()).as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isTrue())
                .verifyComplete();
    }
}
