package dev.stasis.backend.neo4j;

import dev.stasis.AlreadyResumedException;
import dev.stasis.Approval;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.security.KeyRing;
import dev.stasis.tck.BlockHoundSupport;
import dev.stasis.tck.TckFlows;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.neo4j.driver.Driver;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** TEMPORARY. */
class DebugStormIT {
    @Test
    void storm() {
        BlockHoundSupport.install();
        int keys = Integer.getInteger("stasis.stormKeys", 100);
        Driver d = HarnessServer.newDriver();
        Neo4jStore store = Neo4jStore.builder(d).labelPrefix("Dbg" + UUID.randomUUID().toString().substring(0, 6) + "_").build();
        store.provision().block();
        TckFlows flows = new TckFlows("dbg");
        PersistenceHub hub = PersistenceHub.builder(store, KeyRing.builder().add("k", KeyRing.generateKey()).build())
                .register(flows.approval).instanceId("a").build();
        long t0 = System.nanoTime();
        List<FlowResult.Suspended> started = Flux.range(0, keys)
                .flatMap(i -> hub.start(flows.approval, new TckFlows.Order("o" + i, "c", 1)).subscribeOn(Schedulers.parallel()), 32)
                .cast(FlowResult.Suspended.class).collectList().block();
        System.err.printf("[dbg] start %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
        t0 = System.nanoTime();
        Flux.fromIterable(started)
                .flatMap(s -> Flux.range(0, 32)
                        .flatMap(i -> hub.resume(s.key(), new Approval(true, "x" + i, null)).subscribeOn(Schedulers.parallel())
                                .onErrorResume(AlreadyResumedException.class, e -> Mono.empty())
                                .onErrorResume(e -> {
                                    errors.computeIfAbsent(e.getClass().getSimpleName() + ": " + e.getMessage(), k -> new AtomicInteger()).incrementAndGet();
                                    return Mono.empty();
                                }), 32), 8)
                .blockLast(Duration.ofMinutes(10));
        System.err.printf("[dbg] storm %d ms, errors %s%n", (System.nanoTime() - t0) / 1_000_000, errors);
        d.close();
    }
}
