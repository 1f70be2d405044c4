package dev.stasis.webhook;

import dev.stasis.QueryCriteria;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.InMemoryStore;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** An in-memory store that can be switched "down" (every call fails as unavailable) and counts key lookups. */
final class FaultyStore implements StateStore {

    final InMemoryStore delegate = new InMemoryStore();
    final AtomicBoolean down = new AtomicBoolean();
    final AtomicInteger keyLookups = new AtomicInteger();

    private <T> Mono<T> guard(Mono<T> call) {
        return Mono.defer(() -> down.get() ? Mono.error(new StorageUnavailableException("test store is down")) : call);
    }

    @Override
    public Mono<Void> provision() {
        return guard(delegate.provision());
    }

    @Override
    public Mono<Void> insert(FlowRecord record) {
        return guard(delegate.insert(record));
    }

    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return guard(delegate.findById(flowId));
    }

    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return guard(Mono.defer(() -> {
            keyLookups.incrementAndGet();
            return delegate.findByKeyHash(keyHash);
        }));
    }

    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return guard(delegate.findByCorrelationId(correlationId));
    }

    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return guard(delegate.compareAndSet(expectedVersion, next));
    }

    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return guard(delegate.delete(flowId, expectedVersion));
    }

    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return guard(delegate.query(criteria).collectList()).flatMapIterable(l -> l);
    }

    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return guard(delegate.deleteMatching(criteria));
    }

    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return guard(delegate.dueForTimeout(now, limit).collectList()).flatMapIterable(l -> l);
    }

    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return guard(delegate.expiredLeases(now, limit).collectList()).flatMapIterable(l -> l);
    }

    @Override
    public Mono<StoreHealth> health() {
        return guard(delegate.health());
    }
}
