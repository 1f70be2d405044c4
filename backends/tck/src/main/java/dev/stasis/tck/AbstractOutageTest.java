package dev.stasis.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.Approval;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.StasisException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.security.KeyRing;
import dev.stasis.spi.StateStore;
import dev.stasis.tck.TckFlows.Order;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.retry.Retry;

/**
 * A store outage: the server is stopped mid-run and started again. While it is down, operations fail with the
 * retryable {@link StorageUnavailableException}; callers that retry with backoff succeed after it comes back, and no
 * suspension is lost. The store module provides a server it may stop (never the shared one other tests use).
 */
public abstract class AbstractOutageTest {

    /**
     * A store on the restartable server (already running).
     *
     * @return the store
     * @throws Exception when the server cannot be reached
     */
    protected abstract StateStore createStore() throws Exception;

    /**
     * Stops the server (data kept on disk).
     *
     * @throws Exception on errors
     */
    protected abstract void stopServer() throws Exception;

    /**
     * Starts the server again on the same address with the same data.
     *
     * @throws Exception on errors
     */
    protected abstract void startServer() throws Exception;

    @Test
    @DisplayName("an outage fails calls as retryable; retries with backoff succeed after recovery and nothing is lost")
    void outage() throws Exception {
        BlockHoundSupport.install();
        StateStore store = createStore();
        TckFlows flows = new TckFlows("outage" + UUID.randomUUID().toString().substring(0, 8));
        PersistenceHub hub = PersistenceHub.builder(store, KeyRing.builder().add("o1", KeyRing.generateKey()).build())
                .register(flows.approval)
                .build();
        List<FlowResult.Suspended> before = Flux.range(0, 20)
                .concatMap(i -> hub.start(flows.approval, new Order("o-" + i, "c", 10)))
                .cast(FlowResult.Suspended.class)
                .collectList()
                .block(Duration.ofMinutes(1));
        assertThat(before).hasSize(20);

        stopServer();
        hub.resume(before.get(0).key(), new Approval(true, "down", null))
                .as(StepVerifier::create)
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(StorageUnavailableException.class);
                    assertThat(StasisException.isRetryable(e)).isTrue();
                })
                .verify(Duration.ofMinutes(1));

        // retrying callers: the server comes back after their first failures
        AtomicInteger failures = new AtomicInteger();
        CompletableFuture<Void> restart = new CompletableFuture<>();
        List<FlowResult> results = Flux.fromIterable(before)
                .flatMap(s -> Mono.defer(() -> hub.resume(s.key(), new Approval(true, "retry", null)))
                        .doOnError(e -> {
                            if (failures.incrementAndGet() == 20) {
                                restart.completeAsync(() -> {
                                    try {
                                        startServer();
                                    } catch (Exception ex) {
                                        throw new IllegalStateException(ex);
                                    }
                                    return null;
                                });
                            }
                        })
                        .retryWhen(Retry.backoff(30, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(2))
                                .filter(StasisException::isRetryable)), 20)
                .collectList()
                .block(Duration.ofMinutes(3));
        restart.get();
        assertThat(failures.get()).isGreaterThanOrEqualTo(20);
        assertThat(results).hasSize(20).allSatisfy(r -> assertThat(r).isInstanceOf(FlowResult.Completed.class));
        for (FlowResult.Suspended s : before) {
            assertThat(TckFlows.executions(flows.charges, s.flowId())).isEqualTo(1);
        }
        store.close().block(Duration.ofSeconds(30));
    }
}
