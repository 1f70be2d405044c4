package dev.stasis.backend.neo4j;

import dev.stasis.QueryCriteria;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** TEMPORARY: logs store errors. */
final class DebugStore implements StateStore {
    private final StateStore d;
    static final AtomicLong reads = new AtomicLong(), cas = new AtomicLong();
    DebugStore(StateStore d) { this.d = d; }
    private <T> Mono<T> log(String op, Mono<T> m) { return m.doOnError(e -> { System.err.println("[debug] " + op + " failed: " + e); if (e.getCause() != null) System.err.println("[debug]   cause: " + e.getCause()); }); }
    public Mono<Void> provision() { return d.provision(); }
    public Mono<Void> insert(FlowRecord r) { return log("insert", d.insert(r)); }
    public Mono<FlowRecord> findById(String id) { reads.incrementAndGet(); return log("findById", d.findById(id)); }
    public Mono<FlowRecord> findByKeyHash(String h) { reads.incrementAndGet(); return log("findByKeyHash", d.findByKeyHash(h)); }
    public Mono<FlowRecord> findByCorrelationId(String c) { return log("findByCorrelationId", d.findByCorrelationId(c)); }
    public Mono<Boolean> compareAndSet(long v, FlowRecord n) { cas.incrementAndGet(); return log("cas", d.compareAndSet(v, n)); }
    public Mono<Boolean> delete(String id, long v) { return log("delete", d.delete(id, v)); }
    public Flux<FlowRecord> query(QueryCriteria c) { return d.query(c); }
    public Mono<Long> deleteMatching(QueryCriteria c) { return d.deleteMatching(c); }
    public Flux<FlowRecord> dueForTimeout(Instant now, int l) { return d.dueForTimeout(now, l); }
    public Flux<FlowRecord> expiredLeases(Instant now, int l) { return d.expiredLeases(now, l); }
    public Mono<StoreHealth> health() { return d.health(); }
}
