package dev.stasis.backend.redis;

import dev.stasis.spi.FlowRecord;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * What a standalone store last saw of recently read or written flows: the fields that name the keys a write script
 * must declare but that the SPI call does not carry — the key hashes a compare-and-set may drop, and the flow name,
 * key hashes and correlation id a delete cleans up after.
 *
 * <p>Only a guess, never trusted: the scripts check it against the stored record and, when it is wrong or missing,
 * change nothing and name what they need, and the store runs them again (see {@link Scripts}). So a stale or evicted
 * entry costs one more round trip, never correctness. Bounded: past {@code capacity} entries, those not touched during
 * the last {@code capacity / 2} updates are dropped (by whichever caller crosses the bound; the others skip). Safe on
 * non-blocking threads: a {@link ConcurrentHashMap} and atomics, no lock a caller could wait for.
 */
final class KnownRecords {

    /**
     * One flow as last seen.
     *
     * @param version its record version
     * @param flowName its flow name
     * @param keyHashes its distinct key hashes, in wait order
     * @param correlationId its correlation id
     * @param touched the update counter when this was stored (for eviction)
     */
    record Known(long version, String flowName, List<String> keyHashes, @Nullable String correlationId,
            long touched) {

        static Known of(FlowRecord r, long touched) {
            return new Known(r.version(), r.flowName(), List.copyOf(new LinkedHashSet<>(r.keyHashes())),
                    r.correlationId(), touched);
        }
    }

    private final int capacity;
    private final ConcurrentHashMap<String, Known> byId = new ConcurrentHashMap<>();
    private final AtomicLong updates = new AtomicLong();
    private final AtomicBoolean trimming = new AtomicBoolean();

    KnownRecords(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("capacity must be at least 2: " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * Remembers a record read or written, unless a later version of it is known already.
     *
     * @param r the record
     */
    void put(FlowRecord r) {
        long now = updates.incrementAndGet();
        Known k = Known.of(r, now);
        byId.merge(r.id(), k, (was, is) -> is.version() >= was.version() ? is : was);
        if (byId.size() > capacity && trimming.compareAndSet(false, true)) {
            try {
                long keepAfter = now - capacity / 2;
                byId.values().removeIf(e -> e.touched() <= keepAfter);
            } finally {
                trimming.set(false);
            }
        }
    }

    /**
     * What was last seen of a flow.
     *
     * @param flowId the flow id
     * @return the entry, or {@code null}
     */
    @Nullable Known get(String flowId) {
        return byId.get(flowId);
    }

    /**
     * Forgets a flow (deleted, or found missing).
     *
     * @param flowId the flow id
     */
    void remove(String flowId) {
        byId.remove(flowId);
    }

    /**
     * How many flows are remembered.
     *
     * @return the count
     */
    int size() {
        return byId.size();
    }
}
