package dev.stasis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.security.KeyRing;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.InMemoryStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

class RecoveryAndTimeoutsTest {

    record Job(String id) {}

    record Note(String text) {}

    private final KeyRing ring = KeyRing.builder().add("t1", KeyRing.generateKey()).build();
    private final InMemoryStore store = new InMemoryStore();
    private final MutableTestClock clock = new MutableTestClock(Instant.parse("2026-03-01T08:00:00Z"));
    private final AwaitInput<Note> note = AwaitInput.builder("note", Note.class).timeout(Duration.ofMinutes(30)).build();

    private final AtomicBoolean hang = new AtomicBoolean(true);
    private final AtomicInteger firstSteps = new AtomicInteger();
    private final AtomicInteger secondSteps = new AtomicInteger();
    private volatile CountDownLatch reachedSecond = new CountDownLatch(1);

    private Flow<Job, String> flow(boolean checkpoint) {
        Flow<Job, String> f = Flow.define("job", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(note)
                        .flatMap(n -> ctx.step("first", String.class,
                                () -> Mono.fromSupplier(() -> "a" + firstSteps.incrementAndGet())))
                        .flatMap(a -> ctx.step("second", String.class, () -> {
                            boolean hangHere = hang.get();
                            reachedSecond.countDown();
                            return hangHere ? Mono.never() : Mono.fromSupplier(() -> a + "b" + secondSteps.incrementAndGet());
                        })));
        return checkpoint ? f.withOptions(FlowOptions.checkpointEveryStep()) : f;
    }

    private PersistenceHub hub(String id, Flow<Job, String> flow, VirtualTimeScheduler timer) {
        PersistenceHub.Builder b = PersistenceHub.builder(store, ring).register(flow).clock(clock).instanceId(id)
                .leaseDuration(Duration.ofSeconds(30));
        if (timer != null) b.timer(timer);
        return b.build();
    }

    /** Starts a flow, resumes it on hub A until it hangs in "second", then kills that run (a crash). */
    private FlowResult.Suspended crashMidRun(PersistenceHub a, Flow<Job, String> flow, String idem) throws Exception {
        FlowResult.Suspended s = (FlowResult.Suspended) a.start(flow, new Job("j1")).block();
        Disposable run = a.resume(s.key(), new Note("go"), ResumeOptions.idempotencyKey(idem)).subscribe();
        assertThat(reachedSecond.await(10, TimeUnit.SECONDS)).isTrue();
        run.dispose();
        FlowRecord r = store.findById(s.flowId()).block();
        assertThat(r.status()).isEqualTo(FlowStatus.RUNNING);
        assertThat(r.leaseOwner()).isEqualTo("hub-a");
        return s;
    }

    @Test
    @DisplayName("a flow whose hub died mid-run is finished by another hub with the recorded input, exactly once")
    void recoversOrphanedFlow() throws Exception {
        Flow<Job, String> flow = flow(false);
        PersistenceHub a = hub("hub-a", flow, null);
        PersistenceHub b = hub("hub-b", flow, null);
        PersistenceHub c = hub("hub-c", flow, null);
        FlowResult.Suspended s = crashMidRun(a, flow, "delivery-1");
        hang.set(false);
        b.recoverExpiredLeases(10).as(StepVerifier::create).expectNext(0L).verifyComplete();
        clock.advance(Duration.ofSeconds(31));
        List<Long> taken = reactor.core.publisher.Flux.just(b, c)
                .flatMap(h -> h.recoverExpiredLeases(10))
                .collectList().block();
        assertThat(taken).containsExactlyInAnyOrder(0L, 1L);
        b.result(s.flowId()).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("a2b1"))
                .verifyComplete();
        assertThat(secondSteps).hasValue(1);
        // without checkpoints the first step ran again during recovery (at-least-once)
        assertThat(firstSteps).hasValue(2);
        // the crashed caller's delivery, redelivered, gets the result the recovery produced
        c.resume(s.key(), new Note("go"), ResumeOptions.idempotencyKey("delivery-1")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("a2b1"))
                .verifyComplete();
    }

    @Test
    @DisplayName("with checkpoints after every step, recovery does not run completed steps again")
    void checkpointsAvoidReruns() throws Exception {
        Flow<Job, String> flow = flow(true);
        PersistenceHub a = hub("hub-a", flow, null);
        PersistenceHub b = hub("hub-b", flow, null);
        FlowResult.Suspended s = crashMidRun(a, flow, "d");
        hang.set(false);
        clock.advance(Duration.ofSeconds(31));
        b.recoverExpiredLeases(10).as(StepVerifier::create).expectNext(1L).verifyComplete();
        b.result(s.flowId()).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("a1b1"))
                .verifyComplete();
        assertThat(firstSteps).hasValue(1);
    }

    @Test
    @DisplayName("a running flow renews its lease, so no other hub takes it over while it is alive")
    void leaseRenewal() throws Exception {
        VirtualTimeScheduler timer = VirtualTimeScheduler.create();
        Flow<Job, String> flow = flow(false);
        PersistenceHub a = hub("hub-a", flow, timer);
        PersistenceHub b = hub("hub-b", flow, null);
        FlowResult.Suspended s = (FlowResult.Suspended) a.start(flow, new Job("j1")).block();
        Disposable run = a.resume(s.key(), new Note("go")).subscribe();
        assertThat(reachedSecond.await(10, TimeUnit.SECONDS)).isTrue();
        Instant firstExpiry = store.findById(s.flowId()).block().leaseExpiresAt();
        for (int i = 0; i < 4; i++) {
            clock.advance(Duration.ofSeconds(10));
            timer.advanceTimeBy(Duration.ofSeconds(10));
        }
        FlowRecord r = store.findById(s.flowId()).block();
        assertThat(r.leaseExpiresAt()).isAfter(firstExpiry);
        assertThat(r.leaseExpiresAt()).isAfter(clock.instant());
        b.recoverExpiredLeases(10).as(StepVerifier::create).expectNext(0L).verifyComplete();
        run.dispose();
        timer.dispose();
    }

    @Test
    @DisplayName("the sweeper fires overdue waits on its own schedule (virtual time)")
    void sweeperFiresOnSchedule() {
        VirtualTimeScheduler timer = VirtualTimeScheduler.create();
        AwaitInput<Note> withDefault = AwaitInput.builder("reminder", Note.class)
                .timeout(Duration.ofMinutes(5)).defaultValue(new Note("default")).build();
        Flow<Job, String> flow = Flow.define("remind", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(withDefault).map(Note::text));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).clock(clock).timer(timer).build();
        List<String> ids = reactor.core.publisher.Flux.range(0, 25)
                .concatMap(i -> hub.start(flow, new Job("j" + i)))
                .map(FlowResult::flowId)
                .collectList().block();
        Disposable sweeper = hub.startSweeper(Duration.ofSeconds(1), 10);
        clock.advance(Duration.ofMinutes(4));
        timer.advanceTimeBy(Duration.ofSeconds(1));
        assertThat(hub.result(ids.get(0)).block().status()).isEqualTo(FlowStatus.SUSPENDED);
        clock.advance(Duration.ofMinutes(2));
        timer.advanceTimeBy(Duration.ofSeconds(1));
        for (String id : ids) {
            assertThat(hub.result(id).block()).isEqualTo(new FlowResult.Completed(id, "default"));
        }
        sweeper.dispose();
        timer.dispose();
    }

    @Test
    @DisplayName("a heartbeat moves a pending deadline; the wait fires at the new deadline, not the old one")
    void extendDeadline() {
        Flow<Job, String> flow = Flow.define("hb", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(note).map(Note::text).onErrorResume(AwaitTimeoutException.class, e -> Mono.just("timeout")));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).clock(clock).build();
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Job("j")).block();
        Instant later = clock.instant().plus(Duration.ofHours(2));
        hub.extendDeadline(s.flowId(), "note", later).as(StepVerifier::create).expectNext(true).verifyComplete();
        hub.extendDeadline(s.flowId(), "no-such-wait", later).as(StepVerifier::create).expectNext(false).verifyComplete();
        clock.advance(Duration.ofMinutes(31));
        hub.fireDueTimeouts(10).as(StepVerifier::create).expectNext(0L).verifyComplete();
        hub.resume(s.key(), new Note("still in time")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("still in time"))
                .verifyComplete();
    }

    @Test
    @DisplayName("a sweep drains a backlog larger than its batch size")
    void sweepDrainsBacklog() {
        Flow<Job, String> flow = Flow.define("backlog", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(note).map(Note::text).onErrorResume(AwaitTimeoutException.class, e -> Mono.just("late")));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).clock(clock).build();
        reactor.core.publisher.Flux.range(0, 95).concatMap(i -> hub.start(flow, new Job("j" + i))).blockLast();
        clock.advance(Duration.ofHours(1));
        hub.sweep(10).as(StepVerifier::create).expectNext(95L).verifyComplete();
        store.dueForTimeout(clock.instant(), 100).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("overdue flows this hub cannot run do not hide the overdue flows behind them")
    void sweepLooksPastFlowsItCannotRun() {
        // another application's flows (or a version this hub no longer has) share the store and fall due first
        Flow<Job, String> foreign = Flow.define("foreign", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(note).map(Note::text).onErrorResume(AwaitTimeoutException.class, e -> Mono.just("late")));
        Flow<Job, String> ours = Flow.define("ours", 1, Job.class, String.class, (ctx, job) ->
                ctx.await(note).map(Note::text).onErrorResume(AwaitTimeoutException.class, e -> Mono.just("late")));
        PersistenceHub other = PersistenceHub.builder(store, ring).register(foreign).clock(clock).build();
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(ours).clock(clock).build();
        reactor.core.publisher.Flux.range(0, 45).concatMap(i -> other.start(foreign, new Job("f" + i))).blockLast();
        clock.advance(Duration.ofSeconds(1));
        java.util.List<String> mine = reactor.core.publisher.Flux.range(0, 12)
                .concatMap(i -> hub.start(ours, new Job("o" + i)))
                .map(FlowResult::flowId)
                .collectList().block();
        clock.advance(Duration.ofHours(1));
        // batches of 10: the first four hold only foreign flows
        hub.sweep(10).as(StepVerifier::create).expectNext(12L).verifyComplete();
        for (String id : mine) {
            hub.result(id).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r).isEqualTo(new FlowResult.Completed(id, "late")))
                    .verifyComplete();
        }
        // the foreign flows are untouched, still due, and fired by a hub that has them
        assertThat(store.dueForTimeout(clock.instant(), 100).count().block()).isEqualTo(45L);
        other.sweep(10).as(StepVerifier::create).expectNext(45L).verifyComplete();
        hub.sweep(10).as(StepVerifier::create).expectNext(0L).verifyComplete();
    }
}
