package dev.stasis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.security.KeyRing;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.InMemoryStore;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

class FinishedRecordTest {

    record Order(String id, String notes) {}

    record Note(String text) {}

    private final KeyRing ring = KeyRing.builder().add("t1", KeyRing.generateKey()).build();
    private final InMemoryStore store = new InMemoryStore();
    private final AwaitInput<Note> note = AwaitInput.builder("note", Note.class).build();
    private final Flow<Order, String> flow = Flow.define("finished", 1, Order.class, String.class, (ctx, order) ->
            ctx.step("prepare", String.class, () -> reactor.core.publisher.Mono.just(order.notes().substring(0, 10)))
                    .flatMap(p -> ctx.await(note).map(n -> p + ":" + n.text())));

    private static String noise(int n) {
        SplittableRandom r = new SplittableRandom(7);
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append((char) ('a' + r.nextInt(26)));
        }
        return b.toString();
    }

    @Test
    @DisplayName("a finished record keeps its outcome and its resume answers, not the input and journal")
    void finishedRecordIsSmall() {
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult.Suspended s = (FlowResult.Suspended) hub.start(flow, new Order("o1", noise(20_000))).block();
        FlowRecord suspended = store.findById(s.flowId()).block();
        FlowResult done = hub.resume(s.key(), new Note("ok"), ResumeOptions.idempotencyKey("delivery-1")).block();
        assertThat(done).isInstanceOf(FlowResult.Completed.class);
        FlowRecord completed = store.findById(s.flowId()).block();
        // the 20 KB input compresses to ~12 KB; the finished record holds a few hundred bytes
        assertThat(suspended.state().length).isGreaterThan(10_000);
        assertThat(completed.state().length).isLessThan(1_000);
        // what is still asked of a finished flow keeps working
        hub.result(s.flowId()).as(StepVerifier::create)
                .assertNext(r -> assertThat(((FlowResult.Completed) r).output(String.class)).isEqualTo(
                        ((FlowResult.Completed) done).output(String.class)))
                .verifyComplete();
        hub.resume(s.key(), new Note("ok"), ResumeOptions.idempotencyKey("delivery-1")).as(StepVerifier::create)
                .assertNext(r -> assertThat(r).isEqualTo(done))
                .verifyComplete();
        hub.resume(s.key(), new Note("again"), ResumeOptions.none()).as(StepVerifier::create)
                .verifyError(AlreadyResumedException.class);
    }
}
