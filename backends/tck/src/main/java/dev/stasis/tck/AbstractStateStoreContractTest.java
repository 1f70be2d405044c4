package dev.stasis.tck;

import static dev.stasis.tck.TckFlows.executions;
import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.AlreadyResumedException;
import dev.stasis.Approval;
import dev.stasis.CleanupCriteria;
import dev.stasis.FlowDefinitionNotFoundException;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.InputValidationException;
import dev.stasis.PersistenceHub;
import dev.stasis.QueryCriteria;
import dev.stasis.ResumeOptions;
import dev.stasis.StartOptions;
import dev.stasis.StateIntegrityException;
import dev.stasis.SuspensionExpiredException;
import dev.stasis.SuspensionInfo;
import dev.stasis.SuspensionKeyNotFoundException;
import dev.stasis.security.KeyRing;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.WaitRecord;
import dev.stasis.tck.TckFlows.Order;
import dev.stasis.tck.TckFlows.Receipt;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The contract every {@link StateStore} passes, against a real server. A store's test extends it in about ten lines:
 * {@link #createStore()} returns an empty store for the test class, and three side-channel hooks read and write
 * what is really stored without going through the SPI under test (SQL, Redis commands, file reads).
 *
 * <p>Tests share one store per class and isolate themselves with unique flow names and ids. Every call runs on
 * {@code Schedulers.parallel()} with BlockHound installed, so a store that blocks a non-blocking thread fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
public abstract class AbstractStateStoreContractTest {

    /** How many keys the duplicate-resume storm resumes. */
    protected int stormKeys() {
        return 1000;
    }

    /** How many concurrent resumes each storm key receives. */
    protected int stormResumesPerKey() {
        return 32;
    }

    /**
     * Creates an empty store for this test class (a fresh schema, key prefix or directory).
     *
     * @return the store
     * @throws Exception when the server cannot be reached
     */
    protected abstract StateStore createStore() throws Exception;

    /**
     * Side channel: the sealed state bytes stored for a flow, read without the SPI.
     *
     * @param flowId the flow id
     * @return the bytes
     * @throws Exception on I/O errors
     */
    protected abstract byte[] rawState(String flowId) throws Exception;

    /**
     * Side channel: overwrites the sealed state bytes of a flow, leaving every other field as it is.
     *
     * @param flowId the flow id
     * @param state the new bytes
     * @throws Exception on I/O errors
     */
    protected abstract void rawReplaceState(String flowId, byte[] state) throws Exception;

    /**
     * Side channel: everything the store keeps about a flow (row, keys, files, index entries), as text; bytes as
     * ISO-8859-1 so that any embedded ASCII shows.
     *
     * @param flowId the flow id
     * @return the dump
     * @throws Exception on I/O errors
     */
    protected abstract String rawDump(String flowId) throws Exception;

    /**
     * Releases the store after the class.
     *
     * @param store the store
     * @throws Exception on errors
     */
    protected void disposeStore(StateStore store) throws Exception {
        store.close().block(Duration.ofSeconds(30));
    }

    /** The store under test. */
    protected StateStore store;
    /** A fresh key ring per class. */
    protected final KeyRing keyRing = KeyRing.builder().add("tck-1", KeyRing.generateKey()).build();
    /** The hub's clock, moved by hand. */
    protected MutableClock clock;
    /** The flows and their ledgers. */
    protected TckFlows flows;
    /** A hub on {@link #store}. */
    protected PersistenceHub hub;
    private String marker;

    @BeforeAll
    void createStoreOnce() throws Exception {
        BlockHoundSupport.install();
        StepVerifier.setDefaultTimeout(Duration.ofMinutes(2));
        store = createStore();
        store.provision().then(store.provision()).block(Duration.ofMinutes(1));
    }

    @AfterAll
    void disposeStoreOnce() throws Exception {
        if (store != null) {
            disposeStore(store);
        }
    }

    @BeforeEach
    void freshHub() {
        clock = MutableClock.atRealNow();
        flows = new TckFlows("tck" + UUID.randomUUID().toString().substring(0, 8));
        hub = newHub(clock, "hub-a");
        marker = "PLAINTEXT-MARKER-" + UUID.randomUUID();
    }

    /**
     * A hub on the store under test with the kit's flows registered.
     *
     * @param clock its clock
     * @param instanceId its instance id
     * @return the hub
     */
    protected PersistenceHub newHub(MutableClock clock, String instanceId) {
        return PersistenceHub.builder(store, keyRing)
                .register(flows.approval)
                .register(flows.approvalWithDefault)
                .register(flows.quorum)
                .register(flows.crashable)
                .register(flows.timeoutHandled)
                .leaseDuration(Duration.ofSeconds(30))
                .clock(clock)
                .instanceId(instanceId)
                .retention(Duration.ofDays(1))
                .build();
    }

    private static <T> Mono<T> onParallel(Mono<T> mono) {
        return mono.subscribeOn(Schedulers.parallel());
    }

    private static <T> Flux<T> onParallel(Flux<T> flux) {
        return flux.subscribeOn(Schedulers.parallel());
    }

    private Order order() {
        // not UUID.randomUUID(): it reads /dev/urandom (NativePRNG), a blocking call on the parallel threads that call this
        return new Order("o-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()), marker, 1500);
    }

    private FlowResult.Suspended startApproval() {
        FlowResult r = onParallel(hub.start(flows.approval, order())).block(Duration.ofSeconds(30));
        assertThat(r).isInstanceOf(FlowResult.Suspended.class);
        return (FlowResult.Suspended) r;
    }

    @Test
    @DisplayName("BlockHound is active: a blocking call on a parallel thread fails (so the store tests below can fail)")
    void blockHoundIsActive() {
        Mono.fromCallable(() -> {
                    Thread.sleep(1);
                    return 1;
                })
                .subscribeOn(Schedulers.parallel())
                .as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(reactor.blockhound.BlockingOperationError.class))
                .verify(Duration.ofSeconds(30));
    }

    // ------------------------------------------------------------------ SPI contract

    private FlowRecord record(String flowName, FlowStatus status, Instant created, String... keyHashes) {
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : keyHashes) {
            waits.add(new WaitRecord(h, "await-" + h.substring(0, 4), created.plusSeconds(60), WaitRecord.Status.PENDING));
        }
        byte[] state = new byte[64];
        ThreadLocalRandom.current().nextBytes(state);
        return FlowRecord.builder()
                .id(dev.stasis.internal.FlowIds.next(created))
                .flowName(flowName)
                .flowVersion(1)
                .status(status)
                .version(1)
                .createdAt(created)
                .updatedAt(created)
                .deadline(status == FlowStatus.SUSPENDED && keyHashes.length > 0 ? created.plusSeconds(60) : null)
                .waits(waits)
                .metadata(Map.of("tenant", "t-" + flowName))
                .state(state)
                .build();
    }

    private static String hash() {
        return ResumeKeys.hash(ResumeKeys.generate());
    }

    private static Instant millisNow() {
        return Instant.ofEpochMilli(System.currentTimeMillis());
    }

    private static void assertSameRecord(FlowRecord actual, FlowRecord expected) {
        assertThat(actual.id()).isEqualTo(expected.id());
        assertThat(actual.flowName()).isEqualTo(expected.flowName());
        assertThat(actual.flowVersion()).isEqualTo(expected.flowVersion());
        assertThat(actual.status()).isEqualTo(expected.status());
        assertThat(actual.version()).isEqualTo(expected.version());
        assertThat(actual.createdAt()).isEqualTo(expected.createdAt());
        assertThat(actual.updatedAt()).isEqualTo(expected.updatedAt());
        assertThat(actual.deadline()).isEqualTo(expected.deadline());
        assertThat(actual.correlationId()).isEqualTo(expected.correlationId());
        assertThat(actual.waits()).containsExactlyElementsOf(expected.waits());
        assertThat(actual.leaseOwner()).isEqualTo(expected.leaseOwner());
        assertThat(actual.leaseExpiresAt()).isEqualTo(expected.leaseExpiresAt());
        assertThat(actual.retainUntil()).isEqualTo(expected.retainUntil());
        assertThat(actual.metadata()).isEqualTo(expected.metadata());
        assertThat(actual.state()).isEqualTo(expected.state());
    }

    @Test
    @DisplayName("insert then find by id, by key hash and by correlation id returns the same record")
    void insertAndFind() {
        String h1 = hash();
        String h2 = hash();
        String corr = "corr-" + UUID.randomUUID();
        FlowRecord r = record("find-" + UUID.randomUUID(), FlowStatus.SUSPENDED, millisNow(), h1, h2).toBuilder()
                .correlationId(corr)
                .leaseOwner("owner-x")
                .leaseExpiresAt(millisNow().plusSeconds(5))
                .retainUntil(millisNow().plusSeconds(3600))
                .build();
        onParallel(store.insert(r)).as(StepVerifier::create).verifyComplete();
        onParallel(store.findById(r.id())).as(StepVerifier::create)
                .assertNext(found -> assertSameRecord(found, r))
                .verifyComplete();
        onParallel(store.findByKeyHash(h2)).as(StepVerifier::create)
                .assertNext(found -> assertSameRecord(found, r))
                .verifyComplete();
        onParallel(store.findByCorrelationId(corr)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(r.id()))
                .verifyComplete();
        onParallel(store.findByKeyHash(hash())).as(StepVerifier::create).verifyComplete();
        onParallel(store.findById("00000000000000000000000000000000")).as(StepVerifier::create).verifyComplete();
        onParallel(store.findByCorrelationId("corr-missing-" + UUID.randomUUID())).as(StepVerifier::create)
                .verifyComplete();
    }

    @Test
    @DisplayName("insert rejects a duplicate flow id, correlation id or key hash and writes nothing")
    void insertRejectsDuplicates() {
        String h = hash();
        String corr = "corr-" + UUID.randomUUID();
        FlowRecord r = record("dup-" + UUID.randomUUID(), FlowStatus.SUSPENDED, millisNow(), h).toBuilder()
                .correlationId(corr).build();
        onParallel(store.insert(r)).block(Duration.ofMinutes(2));
        onParallel(store.insert(r)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        FlowRecord sameCorrelation = record(r.flowName(), FlowStatus.SUSPENDED, millisNow(), hash()).toBuilder()
                .correlationId(corr).build();
        onParallel(store.insert(sameCorrelation)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        onParallel(store.findById(sameCorrelation.id())).as(StepVerifier::create).verifyComplete();
        FlowRecord sameHash = record(r.flowName(), FlowStatus.SUSPENDED, millisNow(), h);
        onParallel(store.insert(sameHash)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        onParallel(store.findById(sameHash.id())).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("compare-and-set applies only on the expected version and moves the key-hash index with the record")
    void compareAndSet() {
        String old = hash();
        String fresh = hash();
        FlowRecord r = record("cas-" + UUID.randomUUID(), FlowStatus.SUSPENDED, millisNow(), old);
        onParallel(store.insert(r)).block(Duration.ofMinutes(2));
        FlowRecord next = r.toBuilder()
                .version(2)
                .status(FlowStatus.RUNNING)
                .updatedAt(r.updatedAt().plusMillis(5))
                .waits(List.of(new WaitRecord(fresh, "second", null, WaitRecord.Status.PENDING)))
                .leaseOwner("hub-x")
                .leaseExpiresAt(r.updatedAt().plusSeconds(30))
                .deadline(null)
                .state("next-state".getBytes(StandardCharsets.UTF_8))
                .build();
        onParallel(store.compareAndSet(2, next)).as(StepVerifier::create).expectNext(false).verifyComplete();
        onParallel(store.compareAndSet(1, next)).as(StepVerifier::create).expectNext(true).verifyComplete();
        onParallel(store.compareAndSet(1, next)).as(StepVerifier::create).expectNext(false).verifyComplete();
        onParallel(store.findById(r.id())).as(StepVerifier::create)
                .assertNext(found -> assertSameRecord(found, next))
                .verifyComplete();
        onParallel(store.findByKeyHash(fresh)).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.version()).isEqualTo(2))
                .verifyComplete();
        onParallel(store.findByKeyHash(old)).as(StepVerifier::create).verifyComplete();
        FlowRecord ghost = record("cas-ghost", FlowStatus.SUSPENDED, millisNow(), hash());
        onParallel(store.compareAndSet(1, ghost.toBuilder().version(2).build())).as(StepVerifier::create)
                .expectNext(false)
                .verifyComplete();
    }

    @Test
    @DisplayName("of 16 concurrent compare-and-sets on one version exactly one wins, on every round")
    void compareAndSetUnderContention() {
        FlowRecord r = record("race-" + UUID.randomUUID(), FlowStatus.SUSPENDED, millisNow(), hash());
        onParallel(store.insert(r)).block(Duration.ofMinutes(2));
        FlowRecord current = r;
        for (int round = 0; round < 10; round++) {
            FlowRecord base = current;
            List<FlowRecord> candidates = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                candidates.add(base.toBuilder()
                        .version(base.version() + 1)
                        .leaseOwner("contender-" + i)
                        .state(("round-" + base.version() + "-by-" + i).getBytes(StandardCharsets.UTF_8))
                        .build());
            }
            List<Boolean> outcomes = Flux.fromIterable(candidates)
                    .flatMap(c -> onParallel(store.compareAndSet(base.version(), c)), 16)
                    .collectList()
                    .block(Duration.ofSeconds(30));
            assertThat(outcomes).hasSize(16);
            assertThat(outcomes.stream().filter(b -> b).count()).as("winners in round " + round).isEqualTo(1);
            current = onParallel(store.findById(r.id())).block(Duration.ofSeconds(10));
            assertThat(current.version()).isEqualTo(base.version() + 1);
            String winner = current.leaseOwner();
            FlowRecord expected = candidates.stream().filter(c -> c.leaseOwner().equals(winner)).findFirst().orElseThrow();
            assertThat(current.state()).isEqualTo(expected.state());
        }
    }

    @Test
    @DisplayName("delete removes a record only at the expected version, with its index entries")
    void deleteByVersion() {
        String h = hash();
        FlowRecord r = record("del-" + UUID.randomUUID(), FlowStatus.COMPLETED, millisNow(), h).toBuilder()
                .correlationId("corr-" + UUID.randomUUID()).build();
        onParallel(store.insert(r)).block(Duration.ofMinutes(2));
        onParallel(store.delete(r.id(), 7)).as(StepVerifier::create).expectNext(false).verifyComplete();
        onParallel(store.delete(r.id(), 1)).as(StepVerifier::create).expectNext(true).verifyComplete();
        onParallel(store.delete(r.id(), 1)).as(StepVerifier::create).expectNext(false).verifyComplete();
        onParallel(store.findById(r.id())).as(StepVerifier::create).verifyComplete();
        onParallel(store.findByKeyHash(h)).as(StepVerifier::create).verifyComplete();
        onParallel(store.findByCorrelationId(r.correlationId())).as(StepVerifier::create).verifyComplete();
        // the correlation id is free again
        FlowRecord again = record(r.flowName(), FlowStatus.SUSPENDED, millisNow(), hash()).toBuilder()
                .correlationId(r.correlationId()).build();
        onParallel(store.insert(again)).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("query filters by name, status, await id, correlation, times and metadata, in id order with a cursor")
    void queryFilters() {
        String name = "q-" + UUID.randomUUID();
        Instant t0 = millisNow().minusSeconds(3600);
        List<FlowRecord> inserted = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            FlowStatus status = i % 3 == 0 ? FlowStatus.COMPLETED : FlowStatus.SUSPENDED;
            FlowRecord r = record(name, status, t0.plusSeconds(i * 10L), hash());
            if (i == 5) {
                r = r.toBuilder().correlationId("corr-q-" + name).metadata(Map.of("tenant", "special")).build();
            }
            inserted.add(r);
        }
        Flux.fromIterable(inserted).concatMap(r -> onParallel(store.insert(r))).blockLast(Duration.ofMinutes(2));
        List<String> allIds = inserted.stream().map(FlowRecord::id).sorted().toList();

        assertThat(ids(QueryCriteria.builder().flowName(name).build())).containsExactlyElementsOf(allIds);
        assertThat(ids(QueryCriteria.builder().flowName(name).status(FlowStatus.COMPLETED).build()))
                .containsExactlyElementsOf(inserted.stream().filter(r -> r.status() == FlowStatus.COMPLETED)
                        .map(FlowRecord::id).sorted().toList());
        assertThat(ids(QueryCriteria.builder().flowName(name).awaitId(inserted.get(3).waits().get(0).awaitId()).build()))
                .contains(inserted.get(3).id());
        assertThat(ids(QueryCriteria.builder().correlationId("corr-q-" + name).build()))
                .containsExactly(inserted.get(5).id());
        assertThat(ids(QueryCriteria.builder().flowName(name).metadata("tenant", "special").build()))
                .containsExactly(inserted.get(5).id());
        assertThat(ids(QueryCriteria.builder().flowName(name).createdAfter(t0.plusSeconds(50))
                        .createdBefore(t0.plusSeconds(80)).build()))
                .containsExactlyElementsOf(inserted.subList(5, 8).stream().map(FlowRecord::id).sorted().toList());
        assertThat(ids(QueryCriteria.builder().flowName(name).deadlineBefore(t0.plusSeconds(60 + 25)).build()))
                .containsExactlyElementsOf(inserted.subList(0, 3).stream().filter(r -> r.deadline() != null)
                        .map(FlowRecord::id).sorted().toList());
        assertThat(ids(QueryCriteria.builder().flowName(name).deadlineAfter(t0.plusSeconds(60 + 100)).build()))
                .containsExactlyElementsOf(inserted.subList(10, 12).stream().filter(r -> r.deadline() != null)
                        .map(FlowRecord::id).sorted().toList());
        // pages of 5 through the cursor
        List<String> paged = new ArrayList<>();
        String cursor = null;
        for (int page = 0; page < 4; page++) {
            QueryCriteria.Builder b = QueryCriteria.builder().flowName(name).limit(5);
            if (cursor != null) b.afterFlowId(cursor);
            List<String> got = ids(b.build());
            assertThat(got.size()).isLessThanOrEqualTo(5);
            if (got.isEmpty()) break;
            paged.addAll(got);
            cursor = got.get(got.size() - 1);
        }
        assertThat(paged).containsExactlyElementsOf(allIds);
    }

    private List<String> ids(QueryCriteria criteria) {
        return onParallel(store.query(criteria)).map(FlowRecord::id).collectList().block(Duration.ofSeconds(30));
    }

    @Test
    @DisplayName("deleteMatching removes at most the limit of matching records and nothing else")
    void deleteMatching() {
        String name = "dm-" + UUID.randomUUID();
        Instant now = millisNow();
        List<FlowRecord> expired = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            expired.add(record(name, FlowStatus.COMPLETED, now.minusSeconds(100 - i), hash()).toBuilder()
                    .retainUntil(now.minusSeconds(10)).build());
        }
        FlowRecord retained = record(name, FlowStatus.COMPLETED, now, hash()).toBuilder()
                .retainUntil(now.plusSeconds(3600)).build();
        FlowRecord suspended = record(name, FlowStatus.SUSPENDED, now, hash());
        Flux.concat(Flux.fromIterable(expired), Mono.just(retained), Mono.just(suspended))
                .concatMap(r -> onParallel(store.insert(r))).blockLast(Duration.ofMinutes(2));
        QueryCriteria q = QueryCriteria.builder().flowName(name).retainedBefore(now).status(FlowStatus.COMPLETED)
                .limit(5).build();
        onParallel(store.deleteMatching(q)).as(StepVerifier::create).expectNext(5L).verifyComplete();
        onParallel(store.deleteMatching(q)).as(StepVerifier::create).expectNext(2L).verifyComplete();
        onParallel(store.deleteMatching(q)).as(StepVerifier::create).expectNext(0L).verifyComplete();
        assertThat(ids(QueryCriteria.builder().flowName(name).build()))
                .containsExactlyInAnyOrder(retained.id(), suspended.id());
        onParallel(store.findByKeyHash(expired.get(0).waits().get(0).keyHash())).as(StepVerifier::create)
                .verifyComplete();
    }

    @Test
    @DisplayName("dueForTimeout returns suspended records past their deadline, earliest first, up to the limit")
    void dueForTimeout() {
        // far in the past so that records of other tests in the same store never qualify
        Instant base = Instant.parse("1971-03-01T00:00:00Z").plusSeconds(ThreadLocalRandom.current().nextInt(1000) * 86400L);
        String name = "due-" + UUID.randomUUID();
        List<FlowRecord> due = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            due.add(record(name, FlowStatus.SUSPENDED, base.plusSeconds(i), hash()).toBuilder()
                    .deadline(base.plusSeconds(100 - i)).build());
        }
        FlowRecord notYet = record(name, FlowStatus.SUSPENDED, base, hash()).toBuilder()
                .deadline(base.plusSeconds(10_000)).build();
        FlowRecord running = record(name, FlowStatus.RUNNING, base, hash()).toBuilder()
                .deadline(base.plusSeconds(1)).build();
        Flux.concat(Flux.fromIterable(due), Mono.just(notYet), Mono.just(running))
                .concatMap(r -> onParallel(store.insert(r))).blockLast(Duration.ofMinutes(2));
        Instant now = base.plusSeconds(200);
        List<String> got = onParallel(store.dueForTimeout(now, 3)).map(FlowRecord::id).collectList().block(Duration.ofMinutes(2));
        assertThat(got).containsExactly(due.get(4).id(), due.get(3).id(), due.get(2).id());
        List<String> all = onParallel(store.dueForTimeout(now, 100)).map(FlowRecord::id).collectList().block(Duration.ofMinutes(2));
        assertThat(all).containsExactlyInAnyOrderElementsOf(due.stream().map(FlowRecord::id).toList());
        // removing a deadline through compare-and-set takes the record off the timeout index
        FlowRecord first = due.get(4);
        onParallel(store.compareAndSet(1, first.toBuilder().version(2).deadline(null).build())).block(Duration.ofMinutes(2));
        assertThat(onParallel(store.dueForTimeout(now, 100)).map(FlowRecord::id).collectList().block(Duration.ofMinutes(2)))
                .doesNotContain(first.id()).hasSize(4);
    }

    @Test
    @DisplayName("expiredLeases returns running records whose lease lapsed, oldest first")
    void expiredLeases() {
        Instant base = Instant.parse("1972-06-01T00:00:00Z").plusSeconds(ThreadLocalRandom.current().nextInt(1000) * 86400L);
        String name = "lease-" + UUID.randomUUID();
        FlowRecord lapsedOld = record(name, FlowStatus.RUNNING, base, hash()).toBuilder()
                .leaseOwner("dead-1").leaseExpiresAt(base.plusSeconds(5)).deadline(null).build();
        FlowRecord lapsedNew = record(name, FlowStatus.RUNNING, base, hash()).toBuilder()
                .leaseOwner("dead-2").leaseExpiresAt(base.plusSeconds(9)).deadline(null).build();
        FlowRecord alive = record(name, FlowStatus.RUNNING, base, hash()).toBuilder()
                .leaseOwner("alive").leaseExpiresAt(base.plusSeconds(1000)).deadline(null).build();
        Flux.just(lapsedNew, lapsedOld, alive).concatMap(r -> onParallel(store.insert(r))).blockLast(Duration.ofMinutes(2));
        assertThat(onParallel(store.expiredLeases(base.plusSeconds(10), 10)).map(FlowRecord::id).collectList().block(Duration.ofMinutes(2)))
                .containsExactly(lapsedOld.id(), lapsedNew.id());
        assertThat(onParallel(store.expiredLeases(base.plusSeconds(10), 1)).map(FlowRecord::id).collectList().block(Duration.ofMinutes(2)))
                .containsExactly(lapsedOld.id());
    }

    @Test
    @DisplayName("health reports the store up and provisioned")
    void health() {
        onParallel(store.health()).as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.up()).isTrue();
                    assertThat(h.provisioned()).isTrue();
                    assertThat(h.store()).isNotBlank();
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("provision is idempotent when many instances run it at once")
    void provisionConcurrently() {
        Flux.range(0, 8).flatMap(i -> onParallel(store.provision()), 8).as(StepVerifier::create).verifyComplete();
    }

    // ------------------------------------------------------------------ guarantees through the hub

    @Test
    @DisplayName("guarantee 1: a key is handed out only once its suspension is durable in the store")
    void keyHandedOutOnlyWhenDurable() {
        FlowResult.Suspended s = startApproval();
        assertThat(s.keys()).hasSize(1);
        assertThat(ResumeKeys.isWellFormed(s.key())).isTrue();
        onParallel(store.findByKeyHash(ResumeKeys.hash(s.key()))).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r.id()).isEqualTo(s.flowId());
                    assertThat(r.status()).isEqualTo(FlowStatus.SUSPENDED);
                    assertThat(r.deadline()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
                    assertThat(r.metadata()).containsEntry("department", "finance");
                })
                .verifyComplete();
        assertThat(executions(flows.reservations, s.flowId())).isEqualTo(1);
    }

    @Test
    @DisplayName("a resumed flow completes without re-running completed steps, and a second resume is refused")
    void resumeCompletesOnce() {
        FlowResult.Suspended s = startApproval();
        onParallel(hub.resume(s.key(), new Approval(true, "alice", "ok"))).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r).isInstanceOf(FlowResult.Completed.class);
                    Receipt receipt = ((FlowResult.Completed) r).output(Receipt.class);
                    assertThat(receipt.approvedBy()).isEqualTo("alice");
                    assertThat(receipt.amount()).isEqualTo(1500);
                })
                .verifyComplete();
        assertThat(executions(flows.reservations, s.flowId())).isEqualTo(1);
        assertThat(executions(flows.charges, s.flowId())).isEqualTo(1);
        onParallel(hub.resume(s.key(), new Approval(true, "bob", null))).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(r.status()).isEqualTo(FlowStatus.COMPLETED))
                .verifyComplete();
    }

    @Test
    @DisplayName("guarantee 2: a duplicate-resume storm has exactly one winner per key and one charge per flow")
    void duplicateResumeStorm() {
        int keys = stormKeys();
        int perKey = stormResumesPerKey();
        List<FlowResult.Suspended> started = Flux.range(0, keys)
                .flatMap(i -> onParallel(hub.start(flows.approval, order())), 32)
                .cast(FlowResult.Suspended.class)
                .collectList()
                .block(Duration.ofMinutes(5));
        assertThat(started).hasSize(keys);
        AtomicInteger winners = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        java.util.concurrent.ConcurrentMap<String, Integer> otherTypes = new java.util.concurrent.ConcurrentHashMap<>();
        long t0 = System.nanoTime();
        Flux.fromIterable(started)
                .flatMap(s -> Flux.range(0, perKey)
                        .flatMap(i -> onParallel(hub.resume(s.key(), new Approval(true, "storm-" + i, null)))
                                .doOnNext(r -> winners.incrementAndGet())
                                .onErrorResume(AlreadyResumedException.class, e -> {
                                    refused.incrementAndGet();
                                    return Mono.empty();
                                })
                                .onErrorResume(e -> {
                                    other.incrementAndGet();
                                    if (otherTypes.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1,
                                            Integer::sum) == 1) {
                                        // the first of each kind, whole, for whoever has to fix it
                                        e.printStackTrace();
                                    }
                                    return Mono.empty();
                                }), perKey), 8)
                .blockLast(Duration.ofMinutes(10));
        long millis = (System.nanoTime() - t0) / 1_000_000;
        System.err.printf("[tck] %s storm: %d keys x %d resumes: %d winners, %d refused, %d other, %d ms%n",
                getClass().getSimpleName(), keys, perKey, winners.get(), refused.get(), other.get(), millis);
        assertThat(other.get()).as("unexpected errors: %s", otherTypes).isZero();
        assertThat(winners.get()).isEqualTo(keys);
        assertThat(refused.get()).isEqualTo(keys * (perKey - 1));
        for (FlowResult.Suspended s : started) {
            assertThat(executions(flows.charges, s.flowId())).as("charges of " + s.flowId()).isEqualTo(1);
            assertThat(executions(flows.reservations, s.flowId())).as("reservations of " + s.flowId()).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("guarantee 2: a resume carrying the winner's idempotency key gets the winner's result")
    void idempotentDuplicateGetsWinnersResult() {
        FlowResult.Suspended s = startApproval();
        String delivery = "msg-" + UUID.randomUUID();
        List<FlowResult> results = Flux.range(0, 10)
                .flatMap(i -> onParallel(hub.resume(s.key(), new Approval(true, "carol", null),
                        ResumeOptions.idempotencyKey(delivery))))
                .collectList()
                .block(Duration.ofSeconds(60));
        assertThat(results).hasSize(10);
        assertThat(results).allSatisfy(r -> assertThat(r).isEqualTo(results.get(0)));
        assertThat(executions(flows.charges, s.flowId())).isEqualTo(1);
        // a later redelivery (a fresh hub: nothing in memory) still gets it, from the store
        PersistenceHub other = newHub(clock, "hub-b");
        onParallel(other.resume(s.key(), new Approval(true, "carol", null), ResumeOptions.idempotencyKey(delivery)))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(results.get(0)))
                .verifyComplete();
        onParallel(other.resume(s.key(), new Approval(true, "carol", null), ResumeOptions.idempotencyKey("other")))
                .as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
    }

    @Test
    @DisplayName("guarantee 3: bad input is rejected with its violations, and the flow stays suspended with a working key")
    void badInputLosesNothing() {
        FlowResult.Suspended s = startApproval();
        FlowRecord before = onParallel(store.findById(s.flowId())).block(Duration.ofMinutes(2));
        onParallel(hub.resume(s.key(), Map.of("approved", "yes-please"))).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(InputValidationException.class);
                    InputValidationException ive = (InputValidationException) e;
                    assertThat(ive.awaitId()).isEqualTo("manager-approval");
                    assertThat(ive.violations()).isNotEmpty();
                    assertThat(ive.violations().toString()).contains("approved").contains("approver");
                    assertThat(ive.getMessage()).doesNotContain(s.key());
                });
        FlowRecord after = onParallel(store.findById(s.flowId())).block(Duration.ofMinutes(2));
        assertThat(after.version()).isEqualTo(before.version());
        assertThat(after.status()).isEqualTo(FlowStatus.SUSPENDED);
        onParallel(hub.resume(s.key(), new Approval(true, "dave", null))).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isInstanceOf(FlowResult.Completed.class))
                .verifyComplete();
    }

    @Test
    @DisplayName("guarantee 6: a flipped byte in the stored state fails authentication and is never executed")
    void flippedByteDetected() throws Exception {
        FlowResult.Suspended s = startApproval();
        byte[] raw = rawState(s.flowId());
        byte[] tampered = raw.clone();
        tampered[tampered.length / 2] ^= 0x01;
        rawReplaceState(s.flowId(), tampered);
        onParallel(hub.resume(s.key(), new Approval(true, "eve", null))).as(StepVerifier::create)
                .verifyError(StateIntegrityException.class);
        assertThat(executions(flows.charges, s.flowId())).isZero();
    }

    @Test
    @DisplayName("guarantee 6: a truncated stored state fails authentication and is never executed")
    void truncatedStateDetected() throws Exception {
        FlowResult.Suspended s = startApproval();
        byte[] raw = rawState(s.flowId());
        rawReplaceState(s.flowId(), Arrays.copyOf(raw, raw.length - 7));
        onParallel(hub.resume(s.key(), new Approval(true, "eve", null))).as(StepVerifier::create)
                .verifyError(StateIntegrityException.class);
        assertThat(executions(flows.charges, s.flowId())).isZero();
    }

    @Test
    @DisplayName("guarantee 6: state swapped between two records fails authentication on both")
    void swappedStateDetected() throws Exception {
        FlowResult.Suspended a = startApproval();
        FlowResult.Suspended b = startApproval();
        byte[] rawA = rawState(a.flowId());
        byte[] rawB = rawState(b.flowId());
        rawReplaceState(a.flowId(), rawB);
        rawReplaceState(b.flowId(), rawA);
        onParallel(hub.resume(a.key(), new Approval(true, "eve", null))).as(StepVerifier::create)
                .verifyError(StateIntegrityException.class);
        onParallel(hub.resume(b.key(), new Approval(true, "eve", null))).as(StepVerifier::create)
                .verifyError(StateIntegrityException.class);
        assertThat(executions(flows.charges, a.flowId())).isZero();
        assertThat(executions(flows.charges, b.flowId())).isZero();
    }

    @Test
    @DisplayName("guarantee 6: an older state of the same record (a rollback) fails authentication")
    void rolledBackStateDetected() throws Exception {
        FlowResult.Suspended s = startApproval();
        byte[] v1 = rawState(s.flowId());
        PersistenceHub hub2 = newHub(clock, "hub-b");
        onParallel(hub2.cancel(s.flowId(), "test")).block(Duration.ofMinutes(2));
        rawReplaceState(s.flowId(), v1);
        onParallel(hub.resume(s.key(), new Approval(true, "eve", null))).as(StepVerifier::create)
                .verifyError(StateIntegrityException.class);
        assertThat(executions(flows.charges, s.flowId())).isZero();
    }

    @Test
    @DisplayName("the side channel finds neither the raw key nor any plaintext of the state")
    void sideChannelFindsNoSecrets() throws Exception {
        FlowResult.Suspended s = startApproval();
        String suspendedDump = rawDump(s.flowId());
        assertThat(suspendedDump).isNotEmpty();
        assertThat(suspendedDump).doesNotContain(s.key());
        assertThat(suspendedDump).doesNotContain(s.key().substring(ResumeKeys.PREFIX.length()));
        assertThat(suspendedDump).doesNotContain(marker);
        assertThat(suspendedDump).doesNotContain("PLAINTEXT-MARKER");
        assertThat(suspendedDump).doesNotContain("\"journal\"");
        assertThat(suspendedDump).contains(ResumeKeys.hash(s.key()));
        onParallel(hub.resume(s.key(), new Approval(true, "approver-" + marker, null))).block(Duration.ofMinutes(2));
        String completedDump = rawDump(s.flowId());
        assertThat(completedDump).doesNotContain(marker).doesNotContain(s.key()).doesNotContain("approver-");
    }

    @Test
    @DisplayName("a cancelled flow's key stops working")
    void cancel() {
        FlowResult.Suspended s = startApproval();
        onParallel(hub.cancel(s.flowId(), "customer withdrew")).as(StepVerifier::create).expectNext(true).verifyComplete();
        onParallel(hub.cancel(s.flowId(), "again")).as(StepVerifier::create).expectNext(false).verifyComplete();
        onParallel(hub.resume(s.key(), new Approval(true, "frank", null))).as(StepVerifier::create)
                .verifyError(SuspensionKeyNotFoundException.class);
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(r.status()).isEqualTo(FlowStatus.CANCELLED))
                .verifyComplete();
        assertThat(executions(flows.charges, s.flowId())).isZero();
    }

    @Test
    @DisplayName("unknown and malformed keys are not found, with no key in the message")
    void unknownKey() {
        String unknown = ResumeKeys.generate();
        onParallel(hub.resume(unknown, new Approval(true, "x", null))).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> {
                    assertThat(e).isExactlyInstanceOf(SuspensionKeyNotFoundException.class);
                    assertThat(e.getMessage()).doesNotContain(unknown);
                });
        onParallel(hub.resume("not-a-key", new Approval(true, "x", null))).as(StepVerifier::create)
                .verifyError(SuspensionKeyNotFoundException.class);
    }

    @Test
    @DisplayName("start with a correlation id is idempotent, also under concurrency")
    void idempotentStart() {
        String corr = "return-" + UUID.randomUUID();
        List<FlowResult> results = Flux.range(0, 8)
                .flatMap(i -> onParallel(hub.start(flows.approval, order(), StartOptions.correlationId(corr))))
                .collectList()
                .block(Duration.ofSeconds(60));
        assertThat(results).hasSize(8);
        Set<String> flowIds = new HashSet<>();
        results.forEach(r -> flowIds.add(r.flowId()));
        assertThat(flowIds).hasSize(1);
        long withKeys = results.stream().filter(r -> !((FlowResult.Suspended) r).keys().isEmpty()).count();
        assertThat(withKeys).isEqualTo(1);
        assertThat(executions(flows.reservations, flowIds.iterator().next())).isEqualTo(1);
        List<SuspensionInfo> found = onParallel(hub.query(QueryCriteria.builder().correlationId(corr).build()).collectList())
                .block(Duration.ofMinutes(2));
        assertThat(found).hasSize(1);
    }

    @Test
    @DisplayName("guarantee 5: an overdue wait fires its default once, and a resume after the deadline is expired")
    void timeoutWithDefault() {
        FlowResult r = onParallel(hub.start(flows.approvalWithDefault, order())).block(Duration.ofMinutes(2));
        FlowResult.Suspended s = (FlowResult.Suspended) r;
        clock.advance(Duration.ofMinutes(6));
        onParallel(hub.resume(s.key(), new Approval(true, "late", null))).as(StepVerifier::create)
                .verifyError(SuspensionExpiredException.class);
        PersistenceHub hubB = newHub(clock, "hub-b");
        List<Long> fired = Flux.just(hub, hubB, hub)
                .concatMap(h -> onParallel(h.fireDueTimeouts(10_000)))
                .collectList()
                .block(Duration.ofSeconds(60));
        assertThat(fired).isNotEmpty();
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(res -> {
                    assertThat(res).isInstanceOf(FlowResult.Completed.class);
                    assertThat(((FlowResult.Completed) res).output(Receipt.class).approvedBy()).isEqualTo("nobody");
                })
                .verifyComplete();
        assertThat(executions(flows.charges, s.flowId())).isZero();
        onParallel(hub.resume(s.key(), new Approval(true, "late", null))).as(StepVerifier::create)
                .verifyError(SuspensionExpiredException.class);
    }

    @Test
    @DisplayName("guarantee 5: overdue flows this hub cannot run (another application's) do not hide the ones behind them")
    void sweepLooksPastFlowsItCannotRun() {
        TckFlows foreign = new TckFlows("foreign" + UUID.randomUUID().toString().substring(0, 8));
        PersistenceHub other = PersistenceHub.builder(store, keyRing)
                .register(foreign.approvalWithDefault)
                .clock(clock)
                .instanceId("foreign-app")
                .build();
        List<String> theirs = Flux.range(0, 30)
                .flatMap(i -> onParallel(other.start(foreign.approvalWithDefault, order())), 8)
                .map(FlowResult::flowId)
                .collectList()
                .block(Duration.ofMinutes(2));
        clock.advance(Duration.ofSeconds(1));
        List<String> ours = Flux.range(0, 5)
                .flatMap(i -> onParallel(hub.start(flows.approvalWithDefault, order())), 5)
                .map(FlowResult::flowId)
                .collectList()
                .block(Duration.ofMinutes(2));
        clock.advance(Duration.ofMinutes(6));
        // batches of 10: the first three hold only the other application's flows, which fall due a second earlier
        onParallel(hub.sweep(10)).block(Duration.ofMinutes(2));
        for (String id : ours) {
            onParallel(hub.result(id)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(((FlowResult.Completed) r).output(Receipt.class).approvedBy())
                            .isEqualTo("nobody"))
                    .verifyComplete();
        }
        for (String id : theirs) {
            onParallel(other.result(id)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r.status()).as("left to its own application").isEqualTo(FlowStatus.SUSPENDED))
                    .verifyComplete();
        }
        onParallel(other.sweep(10)).block(Duration.ofMinutes(2));
        for (String id : theirs) {
            onParallel(other.result(id)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r).isInstanceOf(FlowResult.Completed.class))
                    .verifyComplete();
        }
    }

    @Test
    @DisplayName("quorum: two of three approvers continue the flow once; the third key is refused")
    void quorum() {
        FlowResult.Suspended s = (FlowResult.Suspended) onParallel(hub.start(flows.quorum, order())).block(Duration.ofMinutes(2));
        assertThat(s.keys()).hasSize(3);
        onParallel(hub.resume(s.keys().get(2), new Approval(true, "c", null))).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isInstanceOf(FlowResult.Suspended.class))
                .verifyComplete();
        onParallel(hub.resume(s.keys().get(2), new Approval(true, "c", null))).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
        onParallel(hub.resume(s.keys().get(0), new Approval(true, "a", null))).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r).isInstanceOf(FlowResult.Completed.class);
                    assertThat(((FlowResult.Completed) r).output(Receipt.class).approvedBy())
                            .isEqualTo("approver-3+approver-1");
                })
                .verifyComplete();
        onParallel(hub.resume(s.keys().get(1), new Approval(true, "b", null))).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
        assertThat(executions(flows.charges, s.flowId())).isEqualTo(1);
    }

    @Test
    @DisplayName("guarantee 7: without its flow version registered a resume fails and the flow stays suspended")
    void versionSafety() {
        FlowResult.Suspended s = startApproval();
        PersistenceHub bare = PersistenceHub.builder(store, keyRing).clock(clock).build();
        onParallel(bare.resume(s.key(), new Approval(true, "gina", null))).as(StepVerifier::create)
                .verifyError(FlowDefinitionNotFoundException.class);
        onParallel(hub.resume(s.key(), new Approval(true, "gina", null))).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isInstanceOf(FlowResult.Completed.class))
                .verifyComplete();
    }

    @Test
    @DisplayName("cleanup removes finished flows whose retention ended and keeps suspended ones")
    void cleanup() {
        FlowResult.Suspended done = startApproval();
        onParallel(hub.resume(done.key(), new Approval(true, "h", null))).block(Duration.ofMinutes(2));
        FlowResult.Suspended waiting = startApproval();
        onParallel(hub.cleanup(CleanupCriteria.expired().withFlowName(flows.approval.name()))).as(StepVerifier::create)
                .assertNext(rep -> assertThat(rep.deleted()).isZero())
                .verifyComplete();
        clock.advance(Duration.ofDays(2));
        onParallel(hub.cleanup(CleanupCriteria.expired().withFlowName(flows.approval.name()))).as(StepVerifier::create)
                .assertNext(rep -> {
                    assertThat(rep.deleted()).isEqualTo(1);
                    assertThat(rep.errors()).isEmpty();
                })
                .verifyComplete();
        onParallel(store.findById(done.flowId())).as(StepVerifier::create).verifyComplete();
        onParallel(store.findById(waiting.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(r.status()).isEqualTo(FlowStatus.SUSPENDED))
                .verifyComplete();
    }

    @Test
    @DisplayName("query through the hub finds suspensions by await id and flow name, without keys")
    void hubQuery() {
        FlowResult.Suspended s = startApproval();
        onParallel(hub.query(QueryCriteria.builder().flowName(flows.approval.name()).awaitId("manager-approval")
                        .status(FlowStatus.SUSPENDED).build()))
                .as(StepVerifier::create)
                .assertNext(info -> {
                    assertThat(info.flowId()).isEqualTo(s.flowId());
                    assertThat(info.waits()).extracting(SuspensionInfo.WaitInfo::awaitId).containsExactly("manager-approval");
                    assertThat(info.toString()).doesNotContain(s.key());
                })
                .verifyComplete();
    }

    // ------------------------------------------------------------------ timeouts, leases, many instances

    @Test
    @DisplayName("guarantee 5: a wait without default times out into an error the flow handles")
    void timeoutWithError() {
        FlowResult.Suspended s = (FlowResult.Suspended) onParallel(hub.start(flows.timeoutHandled, order())).block(Duration.ofMinutes(2));
        clock.advance(Duration.ofMinutes(9));
        onParallel(hub.sweep(100)).block(Duration.ofMinutes(2));
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(r.status()).isEqualTo(FlowStatus.SUSPENDED))
                .verifyComplete();
        clock.advance(Duration.ofMinutes(2));
        onParallel(hub.sweep(100)).block(Duration.ofMinutes(2));
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output(Receipt.class).approvedBy())
                        .isEqualTo("timeout:go"))
                .verifyComplete();
    }

    @Test
    @DisplayName("guarantee 5: a heartbeat extends a deadline before it passes")
    void heartbeatExtension() {
        FlowResult.Suspended s = (FlowResult.Suspended) onParallel(hub.start(flows.timeoutHandled, order())).block(Duration.ofMinutes(2));
        clock.advance(Duration.ofMinutes(8));
        onParallel(hub.extendDeadline(s.flowId(), "go", clock.instant().plus(Duration.ofHours(1))))
                .as(StepVerifier::create).expectNext(true).verifyComplete();
        onParallel(store.findById(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(r.deadline()).isEqualTo(clock.instant().plus(Duration.ofHours(1))))
                .verifyComplete();
        clock.advance(Duration.ofMinutes(30));
        onParallel(hub.sweep(100)).block(Duration.ofMinutes(2));
        onParallel(hub.resume(s.key(), new Approval(true, "in-time", null))).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output(Receipt.class).approvedBy())
                        .isEqualTo("in-time"))
                .verifyComplete();
    }

    @Test
    @DisplayName("guarantee 5: three hubs sweeping one store fire each of 1,000 simultaneous timeouts exactly once")
    void threeHubsFireEachTimeoutOnce() {
        int n = 1000;
        List<String> ids = Flux.range(0, n)
                .flatMap(i -> onParallel(hub.start(flows.approvalWithDefault, order())), 32)
                .map(FlowResult::flowId)
                .collectList()
                .block(Duration.ofMinutes(5));
        List<PersistenceHub> hubs = List.of(newHub(clock, "sweeper-1"), newHub(clock, "sweeper-2"), newHub(clock, "sweeper-3"));
        // each hub runs its own sweeper on a real 200 ms interval (as in production); the deadlines pass for all of
        // them at one instant (the virtual clock jumps), and each EXPIRED event is timed on the wall clock
        Set<String> wanted = new HashSet<>(ids);
        List<dev.stasis.FlowEvent> expired = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<Long> firedAt = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicLongArray perHub = new java.util.concurrent.atomic.AtomicLongArray(hubs.size());
        java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(n);
        List<reactor.core.Disposable> subs = new ArrayList<>();
        for (int h = 0; h < hubs.size(); h++) {
            int index = h;
            subs.add(hubs.get(h).events()
                    .filter(e -> e.type() == dev.stasis.FlowEvent.Type.EXPIRED && wanted.contains(e.flowId()))
                    .subscribe(e -> {
                        firedAt.add(System.nanoTime());
                        expired.add(e);
                        perHub.incrementAndGet(index);
                        all.countDown();
                    }));
        }
        hubs.forEach(h -> subs.add(h.startSweeper(Duration.ofMillis(200), 100)));
        long due = System.nanoTime();
        clock.advance(Duration.ofMinutes(6));
        boolean done;
        try {
            done = all.await(3, java.util.concurrent.TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        long millis = (System.nanoTime() - due) / 1_000_000;
        long[] lateness = firedAt.stream().mapToLong(t -> (t - due) / 1_000_000).sorted().toArray();
        System.err.printf("[tck] %s three-hub sweep: %d waits, fired per hub %s, all fired within %d ms;"
                        + " timer lateness (fire time minus deadline, sweep interval 200 ms) p50 %d ms, p99 %d ms,"
                        + " max %d ms%n",
                getClass().getSimpleName(), n, perHub, millis, percentile(lateness, 50), percentile(lateness, 99),
                percentile(lateness, 100));
        try {
            assertThat(done).as("all %d timeouts fired within 3 minutes (fired %d)", n, expired.size()).isTrue();
            for (String id : ids) {
                // the EXPIRED event is sent when the timeout is claimed; the flow may still be finishing. The sweepers
                // keep running meanwhile: disposing one cancels the runs it has in flight, and a cancelled run stays
                // RUNNING until its lease lapses (as after a crash)
                FlowResult r = onParallel(hub.result(id))
                        .retryWhen(reactor.util.retry.Retry.backoff(600, Duration.ofMillis(10))
                                .maxBackoff(Duration.ofMillis(200))
                                .filter(dev.stasis.FlowRunningException.class::isInstance))
                        .block(Duration.ofMinutes(3));
                assertThat(r).as(id).isInstanceOf(FlowResult.Completed.class);
                assertThat(executions(flows.charges, id)).isZero();
            }
        } finally {
            subs.forEach(reactor.core.Disposable::dispose);
        }
        // checked after every flow has completed, so a late second firing of any of them would be counted here
        List<String> expiredOurs = expired.stream().map(dev.stasis.FlowEvent::flowId).toList();
        assertThat(expiredOurs).hasSize(n).doesNotHaveDuplicates();
    }

    private static long percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return -1;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    @Test
    @DisplayName("guarantee 4: a flow whose hub died mid-run is finished by exactly one other hub after its lease lapses")
    void orphanedFlowIsRecoveredOnce() throws Exception {
        FlowResult.Suspended s = (FlowResult.Suspended) onParallel(hub.start(flows.crashable, order())).block(Duration.ofMinutes(2));
        flows.hang.set(true);
        reactor.core.Disposable dying = onParallel(hub.resume(s.key(), new Approval(true, "ivy", null),
                ResumeOptions.idempotencyKey("delivery-ivy"))).subscribe();
        assertThat(flows.reachedShip.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        dying.dispose();
        flows.hang.set(false);
        onParallel(store.findById(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r.status()).as("record %s owner %s updated %s clock %s charges %d prepares %d",
                            r, r.leaseOwner(), r.updatedAt(), clock.instant(), executions(flows.charges, s.flowId()),
                            executions(flows.prepares, s.flowId())).isEqualTo(FlowStatus.RUNNING);
                    assertThat(r.leaseOwner()).isEqualTo("hub-a");
                })
                .verifyComplete();
        List<PersistenceHub> others = List.of(newHub(clock, "rescuer-1"), newHub(clock, "rescuer-2"));
        assertThat(Flux.fromIterable(others).flatMap(h -> onParallel(h.recoverExpiredLeases(100))).collectList().block(Duration.ofMinutes(2)))
                .containsOnly(0L);
        clock.advance(Duration.ofSeconds(31));
        Flux.fromIterable(others).flatMap(h -> onParallel(h.recoverExpiredLeases(100))).blockLast(Duration.ofSeconds(60));
        onParallel(hub.result(s.flowId())).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output(Receipt.class).approvedBy())
                        .isEqualTo("shipped"))
                .verifyComplete();
        assertThat(executions(flows.charges, s.flowId())).isEqualTo(1);
        assertThat(executions(flows.prepares, s.flowId())).as("checkpointed step ran once").isEqualTo(1);
        onParallel(others.get(0).resume(s.key(), new Approval(true, "ivy", null),
                        ResumeOptions.idempotencyKey("delivery-ivy")))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(r.status()).isEqualTo(FlowStatus.COMPLETED))
                .verifyComplete();
    }
}
