package dev.stasis.bench;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A delegating {@link StateStore} that counts the calls the engine makes, the time they take (from subscription to
 * completion) and the sealed bytes it writes. It is the harness's profile: store calls per flow, and the share of a
 * phase spent waiting for the store versus in the engine.
 */
final class MeteredStore implements StateStore {

    /** The SPI operations that are metered. */
    enum Op { INSERT, FIND_BY_ID, FIND_BY_KEY_HASH, FIND_BY_CORRELATION_ID, COMPARE_AND_SET, DELETE, QUERY,
        DELETE_MATCHING, DUE_FOR_TIMEOUT, EXPIRED_LEASES }

    private final StateStore delegate;
    private final Map<Op, LongAdder> calls = new EnumMap<>(Op.class);
    private final Map<Op, LongAdder> nanos = new EnumMap<>(Op.class);
    private final LongAdder suspendedWrites = new LongAdder();
    private final LongAdder suspendedBytes = new LongAdder();

    MeteredStore(StateStore delegate) {
        this.delegate = delegate;
        for (Op op : Op.values()) {
            calls.put(op, new LongAdder());
            nanos.put(op, new LongAdder());
        }
    }

    /** Clears the counters (between phases). */
    void reset() {
        calls.values().forEach(LongAdder::reset);
        nanos.values().forEach(LongAdder::reset);
        suspendedWrites.reset();
        suspendedBytes.reset();
    }

    /** @return calls per operation since the last reset (operations never called are left out) */
    Map<String, Long> calls() {
        Map<String, Long> m = new LinkedHashMap<>();
        calls.forEach((op, n) -> {
            if (n.sum() > 0) m.put(op.name().toLowerCase(java.util.Locale.ROOT), n.sum());
        });
        return m;
    }

    /** @return total nanoseconds the store calls took (summed over concurrent calls) since the last reset */
    long storeNanos() {
        return nanos.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** @return the mean size of the sealed state of the SUSPENDED records written since the last reset, or 0 */
    double meanSuspendedStateBytes() {
        long n = suspendedWrites.sum();
        return n == 0 ? 0 : (double) suspendedBytes.sum() / n;
    }

    /**
     * Times a call up to its first signal, recorded before the signal goes downstream: what the engine does with the
     * result (often synchronously, on the same stack) is not counted as store time.
     */
    private <T> Mono<T> timed(Op op, Supplier<Mono<T>> call) {
        return Mono.defer(() -> {
            long t0 = System.nanoTime();
            boolean[] done = {false};
            Runnable stop = () -> {
                if (!done[0]) {
                    done[0] = true;
                    calls.get(op).increment();
                    nanos.get(op).add(System.nanoTime() - t0);
                }
            };
            return call.get().doOnEach(s -> stop.run()).doOnCancel(stop);
        });
    }

    private <T> Flux<T> timedFlux(Op op, Supplier<Flux<T>> call) {
        return Flux.defer(() -> {
            long t0 = System.nanoTime();
            return call.get().doFinally(s -> {
                calls.get(op).increment();
                nanos.get(op).add(System.nanoTime() - t0);
            });
        });
    }

    private void written(FlowRecord r) {
        if (r.status() == FlowStatus.SUSPENDED) {
            suspendedWrites.increment();
            suspendedBytes.add(r.state().length);
        }
    }

    @Override
    public Mono<Void> provision() {
        return delegate.provision();
    }

    @Override
    public Mono<Void> insert(FlowRecord record) {
        written(record);
        return timed(Op.INSERT, () -> delegate.insert(record));
    }

    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return timed(Op.FIND_BY_ID, () -> delegate.findById(flowId));
    }

    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return timed(Op.FIND_BY_KEY_HASH, () -> delegate.findByKeyHash(keyHash));
    }

    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return timed(Op.FIND_BY_CORRELATION_ID, () -> delegate.findByCorrelationId(correlationId));
    }

    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        written(next);
        return timed(Op.COMPARE_AND_SET, () -> delegate.compareAndSet(expectedVersion, next));
    }

    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return timed(Op.DELETE, () -> delegate.delete(flowId, expectedVersion));
    }

    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return timedFlux(Op.QUERY, () -> delegate.query(criteria));
    }

    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return timed(Op.DELETE_MATCHING, () -> delegate.deleteMatching(criteria));
    }

    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return timedFlux(Op.DUE_FOR_TIMEOUT, () -> delegate.dueForTimeout(now, limit));
    }

    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return timedFlux(Op.EXPIRED_LEASES, () -> delegate.expiredLeases(now, limit));
    }

    @Override
    public Mono<StoreHealth> health() {
        return delegate.health();
    }

    @Override
    public Mono<Void> close() {
        return delegate.close();
    }

    @Override
    public String toString() {
        return "Metered[" + delegate + "]";
    }
}
