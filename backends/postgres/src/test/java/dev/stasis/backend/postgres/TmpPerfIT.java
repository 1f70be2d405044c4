package dev.stasis.backend.postgres;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import dev.stasis.security.ResumeKeys;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

class TmpPerfIT {
    @Test
    void perf() {
        dev.stasis.tck.BlockHoundSupport.install();
        String schema = PgTestSupport.freshSchema();
        PostgresStore store = PostgresStore.builder(PgTestSupport.url()).schema(schema).build();
        store.provision().block();
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        List<FlowRecord> recs = Flux.range(0, 500).map(i -> FlowRecord.builder().id(dev.stasis.internal.FlowIds.next(now))
                .flowName("p").flowVersion(1).status(FlowStatus.SUSPENDED).version(1).createdAt(now).updatedAt(now)
                .waits(List.of(new WaitRecord(ResumeKeys.hash(ResumeKeys.generate()), "a", null, WaitRecord.Status.PENDING)))
                .metadata(Map.of()).state(new byte[300]).build()).collectList().block();
        long t0 = System.nanoTime();
        Flux.fromIterable(recs).flatMap(r -> store.insert(r).subscribeOn(Schedulers.parallel()), 16).blockLast();
        System.err.println("[perf] 500 inserts ms " + (System.nanoTime() - t0) / 1_000_000);
        t0 = System.nanoTime();
        Flux.range(0, 8000).flatMap(i -> store.findByKeyHash(recs.get(i % 500).keyHashes().get(0)).subscribeOn(Schedulers.parallel()), 64).blockLast();
        System.err.println("[perf] 8000 findByKeyHash ms " + (System.nanoTime() - t0) / 1_000_000);
        t0 = System.nanoTime();
        Flux.range(0, 4000).flatMap(i -> { FlowRecord r = recs.get(i % 500); return store.compareAndSet(1, r.toBuilder().version(2).build()).subscribeOn(Schedulers.parallel()); }, 64).blockLast();
        System.err.println("[perf] 4000 cas ms " + (System.nanoTime() - t0) / 1_000_000);
        store.close().block();
        PgTestSupport.SideChannel side = PgTestSupport.SideChannel.open();
        side.dropSchema(schema);
        side.close();
    }
}
