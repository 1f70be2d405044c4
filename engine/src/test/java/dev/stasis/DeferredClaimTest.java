package dev.stasis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.security.KeyRing;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.InMemoryStore;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The claim of a resume is written with the first write the run needs: before the first new step, or together with
 * the outcome when the resumed segment runs no step.
 */
class DeferredClaimTest {

    record Order(String id) {}

    private final KeyRing ring = KeyRing.builder().add("t1", KeyRing.generateKey()).build();
    private final CountingStore store = new CountingStore(new InMemoryStore());

    @Test
    @DisplayName("a resume whose segment has no step writes once: the claim goes with the completion")
    void stepLessSegmentWritesOnce() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("plain", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(a -> o.id() + ":" + a.approver()));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        List<FlowEvent> events = new CopyOnWriteArrayList<>();
        hub.events().subscribe(events::add);
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Order("o1")).block();
        long before = store.compareAndSets.get();

        hub.resume(s.key(), new Approval(true, "ann", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(new FlowResult.Completed(s.flowId(), "o1:ann")))
                .verifyComplete();

        assertThat(store.compareAndSets.get() - before).isEqualTo(1);
        FlowRecord record = store.findById(s.flowId()).block();
        assertThat(record.status()).isEqualTo(FlowStatus.COMPLETED);
        assertThat(record.version()).isEqualTo(2);
        assertThat(events).extracting(FlowEvent::type)
                .containsExactly(FlowEvent.Type.SUSPENDED, FlowEvent.Type.RESUMED, FlowEvent.Type.COMPLETED);
        // the one write also recorded the winner's answer: a duplicate delivery gets it, a rival is refused
        hub.resume(s.key(), new Approval(false, "bob", null)).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
    }

    @Test
    @DisplayName("a new step runs only after the claim, with the input, is durable (guarantee 4)")
    void stepRunsAfterDurableClaim() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        AtomicReference<FlowRecord> seenByStep = new AtomicReference<>();
        AtomicReference<String> flowId = new AtomicReference<>();
        Flow<Order, String> flow = Flow.define("charge", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).flatMap(a -> ctx.step("charge", String.class, () ->
                        store.findById(flowId.get()).doOnNext(seenByStep::set).thenReturn("charged"))));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Order("o1")).block();
        flowId.set(s.flowId());
        long before = store.compareAndSets.get();

        hub.resume(s.key(), new Approval(true, "ann", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isInstanceOf(FlowResult.Completed.class))
                .verifyComplete();

        FlowRecord atStep = seenByStep.get();
        assertThat(atStep.status()).isEqualTo(FlowStatus.RUNNING);
        assertThat(atStep.version()).isEqualTo(2);
        assertThat(atStep.leaseExpiresAt()).isNotNull();
        assertThat(store.compareAndSets.get() - before).isEqualTo(2);
    }

    @Test
    @DisplayName("a resume that loses the claim at its step gate runs no step and writes nothing, even when the body "
            + "catches the error")
    void lostClaimRunsNoStep() throws Exception {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        AtomicInteger charges = new AtomicInteger();
        CompletableFuture<Void> annRunning = new CompletableFuture<>();
        CompletableFuture<Void> holdAnn = new CompletableFuture<>();
        Flow<Order, String> flow = Flow.define("race", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).flatMap(a -> {
                    Mono<Void> hold = Mono.empty();
                    if ("ann".equals(a.approver())) {
                        annRunning.complete(null);
                        hold = Mono.fromFuture(holdAnn);
                    }
                    return hold.then(ctx.step("charge", String.class,
                                    () -> Mono.fromSupplier(() -> "charge-" + charges.incrementAndGet() + "-" + a.approver()))
                            .onErrorResume(e -> Mono.just("swallowed")));
                }));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Order("o1")).block();

        // ann has read the suspended record and runs on in memory; her claim is not written yet
        CompletableFuture<FlowResult> ann = hub.resume(s.key(), new Approval(true, "ann", null))
                .subscribeOn(Schedulers.parallel()).toFuture();
        annRunning.get(10, TimeUnit.SECONDS);
        // bob resumes the same key meanwhile and wins: his claim and his step go through
        hub.resume(s.key(), new Approval(true, "bob", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(new FlowResult.Completed(s.flowId(), "charge-1-bob")))
                .verifyComplete();
        long afterBob = store.compareAndSets.get();
        holdAnn.complete(null);

        StepVerifier.create(Mono.fromFuture(ann)).verifyError(AlreadyResumedException.class);
        assertThat(charges).hasValue(1);
        // ann's gate tried once and lost; nothing else was written for her (her body's completion was dropped)
        assertThat(store.compareAndSets.get() - afterBob).isEqualTo(1);
        assertThat(store.failedCompareAndSets.get()).isEqualTo(1);
        FlowRecord record = store.findById(s.flowId()).block();
        assertThat(record.status()).isEqualTo(FlowStatus.COMPLETED);
        hub.result(s.flowId()).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(new FlowResult.Completed(s.flowId(), "charge-1-bob")))
                .verifyComplete();
    }

    @Test
    @DisplayName("concurrent resumes of a step-less segment: one winner, one write, every other caller refused")
    void concurrentStepLessResumes() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("plain", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(Approval::approver));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Order("o1")).block();
        long before = store.compareAndSets.get() - store.failedCompareAndSets.get();

        List<Object> outcomes = Flux.range(0, 32)
                .flatMap(i -> hub.resume(s.key(), new Approval(true, "a" + i, null))
                        .subscribeOn(Schedulers.parallel())
                        .<Object>map(r -> r)
                        .onErrorResume(e -> Mono.just(e.getClass())), 32)
                .collectList().block();

        assertThat(outcomes).filteredOn(o -> o instanceof FlowResult.Completed).hasSize(1);
        assertThat(outcomes).filteredOn(o -> o == AlreadyResumedException.class).hasSize(31);
        long successfulWrites = store.compareAndSets.get() - store.failedCompareAndSets.get() - before;
        assertThat(successfulWrites).isEqualTo(1);
    }

    @Test
    @DisplayName("a hub that dies before a step-less resume's one write leaves the wait open: nothing to recover, the "
            + "key still works on another hub")
    void crashBeforeTheOneWrite() {
        MutableTestClock clock = new MutableTestClock(Instant.parse("2026-01-01T10:00:00Z"));
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("plain", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(a -> o.id() + ":" + a.approver()));
        PersistenceHub dying = PersistenceHub.builder(store, ring).register(flow).clock(clock).build();
        FlowResult.Suspended s = (FlowResult.Suspended) dying.start(flow, new Order("o1")).block();

        // the dying hub's write never lands (the process is gone before the store sees it)
        store.hang.set(true);
        reactor.core.Disposable lost = dying.resume(s.key(), new Approval(true, "ann", null)).subscribe();
        assertThat(store.hungCompareAndSets.get()).isEqualTo(1);
        lost.dispose();
        store.hang.set(false);

        FlowRecord record = store.findById(s.flowId()).block();
        assertThat(record.status()).isEqualTo(FlowStatus.SUSPENDED);
        assertThat(record.version()).isEqualTo(1);
        PersistenceHub other = PersistenceHub.builder(store, ring).register(flow).clock(clock).build();
        clock.advance(java.time.Duration.ofHours(1));
        other.recoverExpiredLeases(100).as(StepVerifier::create).expectNext(0L).verifyComplete();
        other.resume(s.key(), new Approval(true, "bob", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(new FlowResult.Completed(s.flowId(), "o1:bob")))
                .verifyComplete();
    }

    /** Counts compare-and-sets (all, and those that lost) and delegates everything to an in-memory store. */
    static final class CountingStore implements StateStore {
        final StateStore delegate;
        final AtomicInteger compareAndSets = new AtomicInteger();
        final AtomicInteger failedCompareAndSets = new AtomicInteger();
        final java.util.concurrent.atomic.AtomicBoolean hang = new java.util.concurrent.atomic.AtomicBoolean();
        final AtomicInteger hungCompareAndSets = new AtomicInteger();

        CountingStore(StateStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public Mono<Void> provision() {
            return delegate.provision();
        }

        @Override
        public Mono<Void> insert(FlowRecord record) {
            return delegate.insert(record);
        }

        @Override
        public Mono<FlowRecord> findById(String flowId) {
            return delegate.findById(flowId);
        }

        @Override
        public Mono<FlowRecord> findByKeyHash(String keyHash) {
            return delegate.findByKeyHash(keyHash);
        }

        @Override
        public Mono<FlowRecord> findByCorrelationId(String correlationId) {
            return delegate.findByCorrelationId(correlationId);
        }

        @Override
        public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
            if (hang.get()) {
                hungCompareAndSets.incrementAndGet();
                return Mono.never();
            }
            return delegate.compareAndSet(expectedVersion, next).doOnNext(ok -> {
                compareAndSets.incrementAndGet();
                if (!ok) {
                    failedCompareAndSets.incrementAndGet();
                }
            });
        }

        @Override
        public Mono<Boolean> delete(String flowId, long expectedVersion) {
            return delegate.delete(flowId, expectedVersion);
        }

        @Override
        public Flux<FlowRecord> query(QueryCriteria criteria) {
            return delegate.query(criteria);
        }

        @Override
        public Mono<Long> deleteMatching(QueryCriteria criteria) {
            return delegate.deleteMatching(criteria);
        }

        @Override
        public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
            return delegate.dueForTimeout(now, limit);
        }

        @Override
        public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
            return delegate.expiredLeases(now, limit);
        }

        @Override
        public Mono<StoreHealth> health() {
            return delegate.health();
        }
    }
}
