package dev.stasis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.security.KeyRing;
import dev.stasis.spi.InMemoryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class FlowReplayTest {

    record Order(String id, int amount) {}

    record Note(String text) {}

    private final KeyRing ring = KeyRing.builder().add("t1", KeyRing.generateKey()).build();
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T10:00:00Z"));
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    };
    private InMemoryStore store;

    @BeforeEach
    void setUp() {
        store = new InMemoryStore();
    }

    private PersistenceHub hub(Flow<?, ?>... flows) {
        PersistenceHub.Builder b = PersistenceHub.builder(store, ring).clock(clock);
        for (Flow<?, ?> f : flows) b.register(f);
        return b.build();
    }

    private static FlowResult.Suspended suspended(FlowResult r) {
        assertThat(r).isInstanceOf(FlowResult.Suspended.class);
        return (FlowResult.Suspended) r;
    }

    @Test
    @DisplayName("completed steps are not executed again when the flow resumes")
    void stepsRunOnce() {
        AtomicInteger validations = new AtomicInteger();
        AtomicInteger charges = new AtomicInteger();
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("pay", 1, Order.class, String.class, (ctx, o) ->
                ctx.step("validate", Integer.class, () -> Mono.fromSupplier(validations::incrementAndGet))
                        .then(ctx.await(approval))
                        .flatMap(a -> ctx.step("charge", String.class,
                                () -> Mono.fromSupplier(() -> "charged-" + charges.incrementAndGet() + "-by-" + a.approver()))));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o1", 5)).block());
        hub.resume(s.key(), new Approval(true, "ann", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output(String.class)).isEqualTo("charged-1-by-ann"))
                .verifyComplete();
        assertThat(validations).hasValue(1);
        assertThat(charges).hasValue(1);
    }

    @Test
    @DisplayName("a loop that awaits three times produces three distinct waits and keys")
    void loopAwaitsAreDistinct() {
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> flow = Flow.define("notes", 1, Order.class, String.class, (ctx, o) ->
                Flux.range(0, 3)
                        .concatMap(i -> ctx.await(note).map(Note::text))
                        .collectList()
                        .map(list -> String.join(",", list)));
        PersistenceHub hub = hub(flow);
        List<String> keys = new ArrayList<>();
        FlowResult r = hub.start(flow, new Order("o", 1)).block();
        for (String text : List.of("a", "b", "c")) {
            FlowResult.Suspended s = suspended(r);
            assertThat(keys).doesNotContain(s.key());
            keys.add(s.key());
            r = hub.resume(s.key(), new Note(text)).block();
        }
        assertThat(r).isEqualTo(new FlowResult.Completed(r.flowId(), "a,b,c"));
        hub.resume(keys.get(0), new Note("again")).as(StepVerifier::create).verifyError(AlreadyResumedException.class);
    }

    @Test
    @DisplayName("a replay that calls a different step than recorded fails the flow with a clear error")
    void divergenceIsDetected() {
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> v1 = Flow.define("diverge", 1, Order.class, String.class, (ctx, o) ->
                ctx.step("first", String.class, () -> Mono.just("x"))
                        .then(ctx.await(note))
                        .map(Note::text));
        FlowResult.Suspended s = suspended(hub(v1).start(v1, new Order("o", 1)).block());
        Flow<Order, String> changed = Flow.define("diverge", 1, Order.class, String.class, (ctx, o) ->
                ctx.step("renamed", String.class, () -> Mono.just("y"))
                        .then(ctx.await(note))
                        .map(Note::text));
        hub(changed).resume(s.key(), new Note("hi")).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r).isInstanceOf(FlowResult.Failed.class);
                    FlowResult.Failed f = (FlowResult.Failed) r;
                    assertThat(f.errorType()).isEqualTo(NonDeterministicFlowException.class.getName());
                    assertThat(f.message()).contains("step:first#0");
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("a recorded step replayed as a wait is a divergence")
    void kindMismatchIsDetected() {
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        AwaitInput<Note> other = AwaitInput.of("other", Note.class);
        Flow<Order, String> v1 = Flow.define("kind", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).flatMap(n -> ctx.await(other)).map(Note::text));
        PersistenceHub first = hub(v1);
        FlowResult.Suspended s1 = suspended(first.start(v1, new Order("o", 1)).block());
        FlowResult.Suspended s2 = suspended(first.resume(s1.key(), new Note("one")).block());
        Flow<Order, String> changed = Flow.define("kind", 1, Order.class, String.class, (ctx, o) ->
                ctx.step("await:note", String.class, () -> Mono.just("no")).then(ctx.await(other)).map(Note::text));
        FlowResult r = hub(changed).resume(s2.key(), new Note("two")).block();
        assertThat(r).isInstanceOf(FlowResult.Failed.class);
        assertThat(((FlowResult.Failed) r).errorType()).isEqualTo(NonDeterministicFlowException.class.getName());
    }

    @Test
    @DisplayName("awaitAll suspends once with one key per wait and continues when every input arrived")
    void awaitAll() {
        AwaitInput<Approval> legal = AwaitInput.approval("legal").build();
        AwaitInput<Approval> finance = AwaitInput.approval("finance").build();
        Flow<Order, String> flow = Flow.define("all", 1, Order.class, String.class, (ctx, o) ->
                ctx.awaitAll(List.of(legal, finance))
                        .map(r -> r.require(legal).approver() + "&" + r.require(finance).approver()));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        assertThat(s.waits()).extracting(WaitHandle::awaitId).containsExactly("legal", "finance");
        assertThat(s.keys()).hasSize(2).doesNotHaveDuplicates();
        FlowResult.Suspended partial = suspended(hub.resume(s.keys().get(1), new Approval(true, "fin", null)).block());
        assertThat(partial.keys()).isEmpty();
        assertThat(partial.waits()).extracting(WaitHandle::awaitId).containsExactly("legal");
        hub.resume(s.keys().get(0), new Approval(true, "leg", null)).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("leg&fin"))
                .verifyComplete();
    }

    @Test
    @DisplayName("awaitAny continues with the first input and closes the other keys")
    void awaitAny() {
        AwaitInput<Note> email = AwaitInput.of("email", Note.class);
        AwaitInput<Note> sms = AwaitInput.of("sms", Note.class);
        Flow<Order, String> flow = Flow.define("any", 1, Order.class, String.class, (ctx, o) ->
                ctx.awaitAny(List.of(email, sms)).map(r -> r.awaitIds() + ":" + r.get(sms).map(Note::text).orElse("-")));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.resume(s.keys().get(1), new Note("via sms")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("[sms]:via sms"))
                .verifyComplete();
        hub.resume(s.keys().get(0), new Note("late")).as(StepVerifier::create).verifyError(AlreadyResumedException.class);
    }

    @Test
    @DisplayName("inputs supplied at start satisfy their awaits without suspending (supervisor pattern)")
    void injectedInputs() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> flow = Flow.define("inject", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).flatMap(a -> ctx.await(note).map(n -> a.approver() + ":" + n.text())));
        PersistenceHub hub = hub(flow);
        hub.start(flow, new Order("o", 1), StartOptions.none()
                        .withInput("approval", new Approval(true, "boss", null))
                        .withInput("note", new Note("pre-filled")))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("boss:pre-filled"))
                .verifyComplete();
        // with only one input supplied, the flow suspends at the other
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1),
                StartOptions.none().withInput("approval", new Approval(true, "boss", null))).block());
        assertThat(s.waits()).extracting(WaitHandle::awaitId).containsExactly("note");
        hub.resume(s.key(), new Note("later")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("boss:later"))
                .verifyComplete();
    }

    @Test
    @DisplayName("a flow that swallows the suspension signal is still suspended, and later steps do not run")
    void swallowedSuspension() {
        AtomicInteger after = new AtomicInteger();
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> flow = Flow.define("swallow", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).map(Note::text)
                        .onErrorResume(e -> Mono.just("fallback"))
                        .flatMap(t -> ctx.step("after", String.class,
                                () -> Mono.fromSupplier(() -> t + after.incrementAndGet()))));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        assertThat(after).hasValue(0);
        hub.resume(s.key(), new Note("real")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("real1"))
                .verifyComplete();
        assertThat(Suspension.isSuspension(new dev.stasis.internal.SuspendSignal())).isTrue();
        assertThat(Suspension.isSuspension(new RuntimeException())).isFalse();
    }

    @Test
    @DisplayName("a timed-out wait without default fails its await; the flow can handle it or ends expired")
    void timeoutWithoutDefault() {
        AwaitInput<Note> note = AwaitInput.builder("note", Note.class).timeout(Duration.ofMinutes(10)).build();
        Flow<Order, String> handled = Flow.define("handled", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).map(Note::text)
                        .onErrorResume(AwaitTimeoutException.class, e -> Mono.just("gave up on " + e.awaitId())));
        Flow<Order, String> unhandled = Flow.define("unhandled", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).map(Note::text));
        PersistenceHub hub = hub(handled, unhandled);
        FlowResult.Suspended a = suspended(hub.start(handled, new Order("o", 1)).block());
        FlowResult.Suspended b = suspended(hub.start(unhandled, new Order("o", 1)).block());
        now.set(now.get().plus(Duration.ofMinutes(11)));
        hub.fireDueTimeouts(100).as(StepVerifier::create).expectNext(2L).verifyComplete();
        hub.fireDueTimeouts(100).as(StepVerifier::create).expectNext(0L).verifyComplete();
        hub.result(a.flowId()).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("gave up on note"))
                .verifyComplete();
        hub.result(b.flowId()).as(StepVerifier::create)
                .assertNext(r -> {
                    assertThat(r.status()).isEqualTo(FlowStatus.EXPIRED);
                    assertThat(((FlowResult.Failed) r).errorType()).isEqualTo(AwaitTimeoutException.class.getName());
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("events report suspended, resumed and completed after each change is durable")
    void events() {
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> flow = Flow.define("events", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).map(Note::text));
        PersistenceHub hub = hub(flow);
        List<FlowEvent> seen = new CopyOnWriteArrayList<>();
        hub.events().subscribe(seen::add);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.resume(s.key(), new Note("x")).block();
        assertThat(seen).extracting(FlowEvent::type)
                .containsExactly(FlowEvent.Type.SUSPENDED, FlowEvent.Type.RESUMED, FlowEvent.Type.COMPLETED);
        assertThat(seen).allSatisfy(e -> assertThat(e.flowId()).isEqualTo(s.flowId()));
        assertThat(seen.get(0).awaitIds()).containsExactly("note");
    }

    @Test
    @DisplayName("an empty step is journaled as empty and not executed again")
    void emptyStep() {
        AtomicInteger lookups = new AtomicInteger();
        AwaitInput<Note> note = AwaitInput.of("note", Note.class);
        Flow<Order, String> flow = Flow.define("empty", 1, Order.class, String.class, (ctx, o) ->
                ctx.step("lookup", String.class, () -> Mono.<String>empty().doOnSubscribe(x -> lookups.incrementAndGet()))
                        .defaultIfEmpty("none")
                        .flatMap(v -> ctx.await(note).map(n -> v + "/" + n.text())));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.resume(s.key(), new Note("x")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("none/x"))
                .verifyComplete();
        assertThat(lookups).hasValue(1);
    }

    @Test
    @DisplayName("a failing flow returns Failed with the error type, and without correlation id stores nothing")
    void failingFlow() {
        Flow<Order, String> flow = Flow.define("boom", 1, Order.class, String.class, (ctx, o) ->
                Mono.error(new IllegalStateException("no stock")));
        PersistenceHub hub = hub(flow);
        hub.start(flow, new Order("o", 1)).as(StepVerifier::create)
                .assertNext(r -> {
                    FlowResult.Failed f = (FlowResult.Failed) r;
                    assertThat(f.errorType()).isEqualTo(IllegalStateException.class.getName());
                    assertThat(f.message()).isEqualTo("no stock");
                })
                .verifyComplete();
        store.query(QueryCriteria.builder().flowName("boom").build()).as(StepVerifier::create).verifyComplete();
        hub.start(flow, new Order("o", 1), StartOptions.correlationId("c-1")).block();
        hub.start(flow, new Order("o", 1), StartOptions.correlationId("c-1")).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Failed) r).message()).isEqualTo("no stock"))
                .verifyComplete();
    }

    @Test
    @DisplayName("resumeJson validates the document and rejects malformed JSON without changing anything")
    void resumeJson() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("json", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(Approval::approver));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.resumeJson(s.key(), "{not json", ResumeOptions.none()).as(StepVerifier::create)
                .verifyError(InputValidationException.class);
        hub.resumeJson(s.key(), "{\"approved\": true}", ResumeOptions.none()).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(((InputValidationException) e).violations().toString())
                        .contains("approver"));
        hub.resumeJson(s.key(), "{\"approved\": true, \"approver\": \"zoe\"}", ResumeOptions.none())
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("zoe"))
                .verifyComplete();
    }

    @Test
    @DisplayName("the hub fails closed without a key ring")
    void failsClosedWithoutKeyRing() {
        assertThatThrownBy(() -> PersistenceHub.builder(store, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("no key ring, no hub");
    }

    @Test
    @DisplayName("keys never appear in toString of results")
    void keysRedacted() {
        AwaitInput<Note> note = AwaitInput.builder("note", Note.class).metadata(Map.of("k", "v")).build();
        Flow<Order, String> flow = Flow.define("redact", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(note).map(Note::text));
        FlowResult.Suspended s = suspended(hub(flow).start(flow, new Order("o", 1)).block());
        assertThat(s.toString()).doesNotContain(s.key()).contains("<redacted>");
    }

    @Test
    @DisplayName("describe shows the open waits from the sealed state, and resumeWait resumes one without its key")
    void describeAndResumeWait() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").description("Approve the purchase")
                .metadata(Map.of("team", "finance")).timeout(Duration.ofHours(1)).build();
        Flow<Order, String> flow = Flow.define("inbox", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(Approval::approver));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.describe(s.flowId()).as(StepVerifier::create)
                .assertNext(d -> {
                    assertThat(d.info().status()).isEqualTo(FlowStatus.SUSPENDED);
                    assertThat(d.waits()).singleElement().satisfies(w -> {
                        assertThat(w.name()).isEqualTo("Approval");
                        assertThat(w.description()).isEqualTo("Approve the purchase");
                        assertThat(w.metadata()).containsEntry("team", "finance");
                        assertThat(w.schema().at("/properties/approved/type").asText()).isEqualTo("boolean");
                        assertThat(w.deadline()).isEqualTo(now.get().plus(Duration.ofHours(1)));
                    });
                })
                .verifyComplete();
        hub.resumeWait(s.flowId(), "nope", new Approval(true, "x", null), ResumeOptions.none()).as(StepVerifier::create)
                .verifyError(SuspensionKeyNotFoundException.class);
        hub.resumeWait(s.flowId(), "approval", Map.of("approved", true), ResumeOptions.none()).as(StepVerifier::create)
                .verifyError(InputValidationException.class);
        hub.resumeWait(s.flowId(), "approval", new Approval(true, "inbox-user", null), ResumeOptions.none())
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("inbox-user"))
                .verifyComplete();
        hub.resume(s.key(), new Approval(true, "late", null)).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
    }

    @Test
    @DisplayName("resumeWait redelivered with the winner's idempotency key gets the winner's result, also after the flow moved on")
    void resumeWaitIdempotentAfterCompletion() {
        AwaitInput<Approval> approval = AwaitInput.approval("approval").build();
        Flow<Order, String> flow = Flow.define("inbox-idem", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(approval).map(Approval::approver));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        hub.resumeWait(s.flowId(), "approval", new Approval(true, "first", null), ResumeOptions.idempotencyKey("d-1"))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("first"))
                .verifyComplete();
        // the same delivery again: the wait has left the open group, the answer is the stored one
        hub.resumeWait(s.flowId(), "approval", new Approval(true, "first", null), ResumeOptions.idempotencyKey("d-1"))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("first"))
                .verifyComplete();
        // another delivery is not the winner's
        hub.resumeWait(s.flowId(), "approval", new Approval(true, "second", null), ResumeOptions.idempotencyKey("d-2"))
                .as(StepVerifier::create)
                .verifyError(SuspensionKeyNotFoundException.class);
        hub.resumeWait(s.flowId(), "approval", new Approval(true, "third", null), ResumeOptions.none())
                .as(StepVerifier::create)
                .verifyError(SuspensionKeyNotFoundException.class);
    }

    @Test
    @DisplayName("resumeWait with an idempotency key already answered does not resume the loop's next wait of that id")
    void resumeWaitIdempotentInLoop() {
        AwaitInput<Approval> turn = AwaitInput.approval("turn").build();
        Flow<Order, String> flow = Flow.define("inbox-loop", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(turn).flatMap(a -> ctx.await(turn)).map(Approval::approver));
        PersistenceHub hub = hub(flow);
        FlowResult.Suspended s = suspended(hub.start(flow, new Order("o", 1)).block());
        FlowResult first = hub.resumeWait(s.flowId(), "turn", new Approval(true, "one", null),
                ResumeOptions.idempotencyKey("d-1")).block();
        assertThat(first).isInstanceOf(FlowResult.Suspended.class);
        FlowResult again = hub.resumeWait(s.flowId(), "turn", new Approval(true, "one", null),
                ResumeOptions.idempotencyKey("d-1")).block();
        assertThat(again).isInstanceOf(FlowResult.Suspended.class);
        assertThat(((FlowResult.Suspended) again).flowId()).isEqualTo(s.flowId());
        // the second turn is still open: the redelivery did not consume it
        hub.resumeWait(s.flowId(), "turn", new Approval(true, "two", null), ResumeOptions.idempotencyKey("d-2"))
                .as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output()).isEqualTo("two"))
                .verifyComplete();
    }
}
