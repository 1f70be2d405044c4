package dev.stasis.backend.neo4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.publisher.TestPublisher;

class PermitsTest {

    @Test
    @DisplayName("at most max calls run at once; the others start in arrival order as permits come back")
    void limitsAndQueues() {
        Permits permits = new Permits(2);
        List<TestPublisher<Integer>> works = new ArrayList<>();
        List<Integer> started = new ArrayList<>();
        List<StepVerifier> verifiers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            TestPublisher<Integer> work = TestPublisher.create();
            works.add(work);
            verifiers.add(permits.limit(work.flux().doOnSubscribe(s -> started.add(n)))
                    .as(StepVerifier::create)
                    .expectNext(n)
                    .expectComplete()
                    .verifyLater());
        }
        assertThat(started).containsExactly(0, 1);
        assertThat(permits.available()).isZero();
        works.get(1).emit(1);
        assertThat(started).containsExactly(0, 1, 2);
        works.get(0).emit(0);
        assertThat(started).containsExactly(0, 1, 2, 3);
        works.get(2).emit(2);
        works.get(3).emit(3);
        verifiers.forEach(StepVerifier::verify);
        assertThat(permits.available()).isEqualTo(2);
    }

    @Test
    @DisplayName("an error or a cancellation returns the permit; a caller cancelled while waiting never runs")
    void releasesOnErrorAndCancel() {
        Permits permits = new Permits(1);
        TestPublisher<Integer> first = TestPublisher.create();
        AtomicInteger waitingRan = new AtomicInteger();
        StepVerifier firstVerifier = permits.limit(first.flux()).as(StepVerifier::create)
                .expectError(IllegalStateException.class)
                .verifyLater();
        permits.limit(Flux.just(1).doOnSubscribe(s -> waitingRan.incrementAndGet()))
                .as(StepVerifier::create)
                .thenCancel()
                .verify();
        assertThat(waitingRan).hasValue(0);
        first.error(new IllegalStateException("boom"));
        firstVerifier.verify();
        assertThat(permits.available()).isEqualTo(1);
        StepVerifier.create(permits.limit(Flux.never()))
                .thenCancel()
                .verify();
        assertThat(permits.available()).isEqualTo(1);
        assertThatThrownBy(() -> new Permits(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @DisplayName("under many concurrent calls at most max run at once")
    void boundUnderConcurrency() {
        Permits permits = new Permits(5);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        Flux.range(0, 2000)
                .flatMap(i -> permits.limit(Mono.defer(() -> {
                                    maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                                    return Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(2)))
                                            // before the completion travels on and frees the permit
                                            .doOnTerminate(running::decrementAndGet);
                                }).flux())
                                .subscribeOn(Schedulers.parallel())
                                .doOnComplete(completed::incrementAndGet),
                        64)
                .blockLast(Duration.ofSeconds(60));
        assertThat(completed).hasValue(2000);
        assertThat(maxRunning.get()).isBetween(1, 5);
        assertThat(permits.available()).isEqualTo(5);
    }

    @Test
    @DisplayName("under concurrent calls, timeouts and cancellations no permit is lost or doubled")
    void noLeakUnderCancellation() {
        Permits permits = new Permits(5);
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger timedOut = new AtomicInteger();
        Flux.range(0, 2000)
                .flatMap(i -> permits.limit(Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(3)))
                                        .flux())
                                .subscribeOn(Schedulers.parallel())
                                .timeout(Duration.ofMillis(ThreadLocalRandom.current().nextInt(1, 20)))
                                .doOnComplete(completed::incrementAndGet)
                                .onErrorResume(e -> {
                                    timedOut.incrementAndGet();
                                    return Mono.empty();
                                }),
                        64)
                .blockLast(Duration.ofSeconds(60));
        assertThat(completed.get() + timedOut.get()).isEqualTo(2000);
        assertThat(timedOut.get()).as("some calls were cancelled while waiting or running").isPositive();
        assertThat(permits.available()).isEqualTo(5);
        // and the semaphore still works at full width
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        Flux.range(0, 50)
                .flatMap(i -> permits.limit(Mono.defer(() -> {
                            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                            return Mono.delay(Duration.ofMillis(5)).doOnTerminate(running::decrementAndGet);
                        }).flux()), 50)
                .blockLast(Duration.ofSeconds(30));
        assertThat(maxRunning).hasValue(5);
    }
}
