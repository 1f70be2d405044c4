package dev.stasis.backend.neo4j;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.neo4j.driver.Driver;
import org.neo4j.driver.SessionConfig;
import org.neo4j.driver.reactivestreams.ReactiveSession;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** TEMPORARY. */
class DebugBenchIT {
    static void time(String what, int n, Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.err.printf("[bench] %s: %d ops in %d ms = %.2f ms/op%n", what, n, ms, ms / (double) n);
    }

    @Test
    void bench() {
        Driver d = HarnessServer.newDriver();
        Neo4jStore store = Neo4jStore.builder(d).labelPrefix("B" + UUID.randomUUID().toString().substring(0, 6) + "_").build();
        Neo4jStore noBm = Neo4jStore.builder(d).bookmarkManager(null).labelPrefix("B" + UUID.randomUUID().toString().substring(0, 6) + "_").build();
        store.provision().block();
        noBm.provision().block();
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        FlowRecord r = FlowRecord.builder().id(UUID.randomUUID().toString().replace("-", "")).flowName("b").flowVersion(1)
                .status(FlowStatus.SUSPENDED).version(1).createdAt(now).updatedAt(now)
                .waits(List.of(new WaitRecord("a".repeat(64), "x", null, WaitRecord.Status.PENDING)))
                .metadata(Map.of("k", "v")).state(new byte[600]).build();
        store.insert(r).block();
        noBm.insert(r).block();
        for (int round = 0; round < 2; round++) {
            int n = 300;
            time("raw driver RETURN 1 executeRead seq", n, () -> Flux.range(0, n).concatMap(i -> Flux.usingWhen(
                    Mono.fromSupplier(() -> d.session(ReactiveSession.class, SessionConfig.defaultConfig())),
                    s -> s.executeRead(tx -> Flux.from(tx.run("RETURN 1")).concatMap(x -> x.records())),
                    ReactiveSession::close)).blockLast());
            time("findById seq", n, () -> Flux.range(0, n).concatMap(i -> store.findById(r.id())).blockLast());
            time("findById seq no bookmarks", n, () -> Flux.range(0, n).concatMap(i -> noBm.findById(r.id())).blockLast());
            time("findByKeyHash seq", n, () -> Flux.range(0, n).concatMap(i -> store.findByKeyHash("a".repeat(64))).blockLast());
            time("findById conc64", n * 4, () -> Flux.range(0, n * 4).flatMap(i -> store.findById(r.id()), 64).blockLast());
            time("findById conc64 no bookmarks", n * 4, () -> Flux.range(0, n * 4).flatMap(i -> noBm.findById(r.id()), 64).blockLast());
            long[] v = {store.findById(r.id()).block().version()};
            time("cas seq", n, () -> {
                for (int i = 0; i < n; i++) {
                    FlowRecord cur = store.findById(r.id()).block();
                    store.compareAndSet(cur.version(), cur.toBuilder().version(cur.version() + 1).build()).block();
                }
            });
            time("failing cas conc64", n * 4, () -> Flux.range(0, n * 4).flatMap(i -> store.compareAndSet(0, r), 64).blockLast());
        }
        d.close();
    }
}
