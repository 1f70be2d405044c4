package dev.stasis.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

class GroupCommitTest {

    /** A runner that records each batch and answers it only when the test releases it. */
    private static final class HeldRunner implements GroupCommit.BatchRunner<String, String> {
        final List<List<String>> batches = new CopyOnWriteArrayList<>();
        final List<Sinks.One<List<GroupCommit.Outcome<String>>>> answers = new CopyOnWriteArrayList<>();

        @Override
        public Mono<List<GroupCommit.Outcome<String>>> run(List<String> batch) {
            batches.add(List.copyOf(batch));
            Sinks.One<List<GroupCommit.Outcome<String>>> sink = Sinks.one();
            answers.add(sink);
            return sink.asMono();
        }

        void release(int index) {
            List<GroupCommit.Outcome<String>> out = new ArrayList<>();
            for (String q : batches.get(index)) {
                out.add(q.startsWith("bad") ? GroupCommit.Outcome.failed(new IllegalStateException("no " + q))
                        : GroupCommit.Outcome.ok("done " + q));
            }
            answers.get(index).tryEmitValue(out);
        }
    }

    private static Function<String, Object> prefixKey() {
        return q -> q.substring(0, 1);
    }

    @Test
    @DisplayName("alone, every request is its own batch and answers with its own outcome")
    void lightLoad() {
        GroupCommit<String, String> gc = new GroupCommit<>(
                batch -> Mono.just(batch.stream().map(q -> GroupCommit.Outcome.ok("done " + q)).toList()),
                Function.identity(), 32, 4);
        for (int i = 0; i < 5; i++) {
            gc.submit("q" + i).as(StepVerifier::create).expectNext("done q" + i).verifyComplete();
        }
        assertThat(gc.batches()).isEqualTo(5);
        assertThat(gc.requests()).isEqualTo(5);
    }

    @Test
    @DisplayName("requests that arrive while the slots are busy go out together when one frees up, up to maxBatch")
    void batchesFormUnderLoad() {
        HeldRunner runner = new HeldRunner();
        GroupCommit<String, String> gc = new GroupCommit<>(runner, Function.identity(), 4, 1);
        List<String> answers = new CopyOnWriteArrayList<>();
        List<Disposable> subs = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            subs.add(gc.submit("q" + i).subscribe(answers::add));
        }
        assertThat(runner.batches).containsExactly(List.of("q0"));
        runner.release(0);
        assertThat(runner.batches).hasSize(2);
        assertThat(runner.batches.get(1)).containsExactly("q1", "q2", "q3", "q4");
        runner.release(1);
        assertThat(runner.batches.get(2)).containsExactly("q5", "q6", "q7", "q8");
        runner.release(2);
        assertThat(answers).hasSize(9).contains("done q0", "done q4", "done q8");
        assertThat(gc.batches()).isEqualTo(3);
        assertThat(gc.requests()).isEqualTo(9);
        subs.forEach(Disposable::dispose);
    }

    @Test
    @DisplayName("two requests with the same conflict key never share a batch; the later one goes in the next")
    void conflictKeysSplit() {
        HeldRunner runner = new HeldRunner();
        GroupCommit<String, String> gc = new GroupCommit<>(runner, prefixKey(), 32, 1);
        List<String> answers = new CopyOnWriteArrayList<>();
        gc.submit("x0").subscribe(answers::add);
        for (String q : List.of("a1", "b1", "a2", "c1", "a3", "b2")) {
            gc.submit(q).subscribe(answers::add);
        }
        runner.release(0);
        assertThat(runner.batches.get(1)).containsExactly("a1", "b1", "c1");
        runner.release(1);
        assertThat(runner.batches.get(2)).containsExactly("a2", "b2");
        runner.release(2);
        assertThat(runner.batches.get(3)).containsExactly("a3");
        runner.release(3);
        assertThat(answers).hasSize(7);
    }

    @Test
    @DisplayName("a size budget closes a batch early; a request larger than the budget still goes, alone, and first")
    void weightBudget() {
        HeldRunner runner = new HeldRunner();
        // weight = the number after the dash; budget 10 per batch
        GroupCommit<String, String> gc = new GroupCommit<>(runner, Function.identity(), 32, 1,
                q -> Long.parseLong(q.substring(q.indexOf('-') + 1)), 10);
        List<String> answers = new CopyOnWriteArrayList<>();
        for (String q : List.of("a-1", "b-4", "c-4", "d-4", "e-50", "f-1", "g-1")) {
            gc.submit(q).subscribe(answers::add);
        }
        assertThat(runner.batches.get(0)).containsExactly("a-1");
        runner.release(0);
        assertThat(runner.batches.get(1)).containsExactly("b-4", "c-4");
        runner.release(1);
        assertThat(runner.batches.get(2)).containsExactly("d-4");
        runner.release(2);
        assertThat(runner.batches.get(3)).as("over the budget on its own: alone, not starved").containsExactly("e-50");
        runner.release(3);
        assertThat(runner.batches.get(4)).containsExactly("f-1", "g-1");
        runner.release(4);
        assertThat(answers).hasSize(7);
    }

    @Test
    @DisplayName("lookup outcomes come back in request order; missing or no longer matching values answer empty")
    void inRequestOrder() {
        IllegalStateException unreadable = new IllegalStateException("unreadable");
        java.util.Map<String, GroupCommit.Outcome<String>> found = java.util.Map.of(
                "a", GroupCommit.Outcome.ok("holds a"),
                "b", GroupCommit.Outcome.ok("moved on"),
                "c", GroupCommit.Outcome.failed(unreadable));
        List<GroupCommit.Outcome<String>> out = GroupCommit.inRequestOrder(
                List.of("c", "missing", "b", "a"), found, (key, value) -> value.endsWith(key));
        assertThat(out).extracting(GroupCommit.Outcome::value).containsExactly(null, null, null, "holds a");
        assertThat(out.get(0).error()).isSameAs(unreadable);
        assertThat(out.get(1).error()).isNull();
        assertThat(out.get(2).error()).isNull();
    }

    @Test
    @DisplayName("an outcome's error reaches only its request; a batch error reaches every request of that batch")
    void errors() {
        HeldRunner runner = new HeldRunner();
        GroupCommit<String, String> gc = new GroupCommit<>(runner, Function.identity(), 32, 1);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<String> values = new CopyOnWriteArrayList<>();
        gc.submit("ok0").subscribe(values::add, errors::add);
        gc.submit("ok1").subscribe(values::add, errors::add);
        gc.submit("bad1").subscribe(values::add, errors::add);
        runner.release(0);
        assertThat(runner.batches.get(1)).containsExactly("ok1", "bad1");
        runner.release(1);
        assertThat(values).containsExactly("done ok0", "done ok1");
        assertThat(errors).singleElement().satisfies(e -> assertThat(e).hasMessage("no bad1"));

        GroupCommit<String, String> failing = new GroupCommit<>(
                batch -> Mono.error(new IllegalStateException("statement failed")), Function.identity(), 32, 1);
        Flux.range(0, 3).flatMap(i -> failing.submit("q" + i).onErrorResume(e -> Mono.just(e.getMessage())))
                .collectList()
                .as(StepVerifier::create)
                .assertNext(l -> assertThat(l).containsOnly("statement failed").hasSize(3))
                .verifyComplete();
    }

    @Test
    @DisplayName("a caller that cancels before its batch is sent is left out of it")
    void cancelledBeforeSending() {
        HeldRunner runner = new HeldRunner();
        GroupCommit<String, String> gc = new GroupCommit<>(runner, Function.identity(), 32, 1);
        gc.submit("q0").subscribe();
        Disposable gone = gc.submit("gone").subscribe();
        gc.submit("q1").subscribe();
        gone.dispose();
        runner.release(0);
        assertThat(runner.batches.get(1)).containsExactly("q1");
    }

    @Test
    @DisplayName("a runner that answers the wrong number of outcomes, or none, fails its callers instead of hanging")
    void brokenRunner() {
        GroupCommit<String, String> wrongCount = new GroupCommit<>(
                batch -> Mono.just(List.of()), Function.identity(), 32, 1);
        wrongCount.submit("q").as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("0 answers for a batch of 1"))
                .verify(Duration.ofSeconds(5));
        GroupCommit<String, String> empty = new GroupCommit<>(batch -> Mono.empty(), Function.identity(), 32, 1);
        empty.submit("q").as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("without an answer"))
                .verify(Duration.ofSeconds(5));
        // the slot was released each time: a later request still runs
        empty.submit("again").as(StepVerifier::create).expectError(IllegalStateException.class)
                .verify(Duration.ofSeconds(5));
        assertThat(empty.batches()).isEqualTo(2);
    }

    @Test
    @DisplayName("many concurrent callers on several slots all get their own answer exactly once")
    void concurrentCallers() {
        GroupCommit<String, String> gc = new GroupCommit<>(
                batch -> Mono.delay(Duration.ofMillis(1))
                        .map(t -> batch.stream().map(q -> GroupCommit.Outcome.ok("done " + q)).toList()),
                prefixKey(), 16, 3);
        Flux.range(0, 2000)
                .flatMap(i -> gc.submit((char) ('a' + i % 20) + "-" + i)
                        .subscribeOn(reactor.core.scheduler.Schedulers.parallel()), 256)
                .collectList()
                .as(StepVerifier::create)
                .assertNext(l -> assertThat(l).hasSize(2000).doesNotHaveDuplicates())
                .verifyComplete();
        assertThat(gc.requests()).isEqualTo(2000);
        assertThat(gc.batches()).isLessThan(2000);
    }
}
