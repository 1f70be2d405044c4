package dev.stasis.spi;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A store in the JVM's heap, for tests and for flows that need not survive the process. Every operation takes one
 * short lock (no I/O under it), so it never blocks for long and passes BlockHound.
 */
public final class InMemoryStore implements StateStore {

    private final Object lock = new Object();
    private final TreeMap<String, FlowRecord> byId = new TreeMap<>();
    private final Map<String, String> idByKeyHash = new HashMap<>();
    private final Map<String, String> idByCorrelation = new HashMap<>();

    /** Creates an empty store. */
    public InMemoryStore() {}

    @Override
    public Mono<Void> provision() {
        return Mono.empty();
    }

    @Override
    public Mono<Void> insert(FlowRecord record) {
        return Mono.fromRunnable(() -> {
            synchronized (lock) {
                if (byId.containsKey(record.id())) {
                    throw new DuplicateRecordException("flow id already stored: " + record.id());
                }
                if (record.correlationId() != null && idByCorrelation.containsKey(record.correlationId())) {
                    throw new DuplicateRecordException("correlation id already stored");
                }
                for (String h : record.keyHashes()) {
                    if (idByKeyHash.containsKey(h)) {
                        throw new DuplicateRecordException("key hash already stored");
                    }
                }
                byId.put(record.id(), record);
                index(record);
            }
        });
    }

    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                return byId.get(flowId);
            }
        });
    }

    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                String id = idByKeyHash.get(keyHash);
                return id == null ? null : byId.get(id);
            }
        });
    }

    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                String id = idByCorrelation.get(correlationId);
                return id == null ? null : byId.get(id);
            }
        });
    }

    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                FlowRecord current = byId.get(next.id());
                if (current == null || current.version() != expectedVersion) {
                    return false;
                }
                unindex(current);
                byId.put(next.id(), next);
                index(next);
                return true;
            }
        });
    }

    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                FlowRecord current = byId.get(flowId);
                if (current == null || current.version() != expectedVersion) {
                    return false;
                }
                byId.remove(flowId);
                unindex(current);
                return true;
            }
        });
    }

    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return Flux.defer(() -> Flux.fromIterable(select(criteria)));
    }

    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                List<FlowRecord> victims = select(criteria);
                for (FlowRecord r : victims) {
                    byId.remove(r.id());
                    unindex(r);
                }
                return (long) victims.size();
            }
        });
    }

    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return Flux.defer(() -> {
            synchronized (lock) {
                return Flux.fromIterable(byId.values().stream()
                        .filter(r -> r.status() == FlowStatus.SUSPENDED && r.deadline() != null
                                && !r.deadline().isAfter(now))
                        .sorted(Comparator.comparing(r -> Objects.requireNonNull(r.deadline())))
                        .limit(limit)
                        .toList());
            }
        });
    }

    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return Flux.defer(() -> {
            synchronized (lock) {
                return Flux.fromIterable(byId.values().stream()
                        .filter(r -> r.status() == FlowStatus.RUNNING && r.leaseExpiresAt() != null
                                && !r.leaseExpiresAt().isAfter(now))
                        .sorted(Comparator.comparing(r -> Objects.requireNonNull(r.leaseExpiresAt())))
                        .limit(limit)
                        .toList());
            }
        });
    }

    @Override
    public Mono<StoreHealth> health() {
        return Mono.fromCallable(() -> {
            synchronized (lock) {
                return new StoreHealth("in-memory", true, true, Map.of("records", String.valueOf(byId.size())));
            }
        });
    }

    /** Side channel for the contract suite: the stored record as it is, without copying. */
    FlowRecord raw(String flowId) {
        synchronized (lock) {
            return Objects.requireNonNull(byId.get(flowId), flowId);
        }
    }

    /** Side channel for the contract suite: replaces the sealed bytes, leaving every other field alone. */
    void rawReplaceState(String flowId, byte[] state) {
        synchronized (lock) {
            FlowRecord r = raw(flowId);
            byId.put(flowId, r.toBuilder().state(state).build());
        }
    }

    private List<FlowRecord> select(QueryCriteria criteria) {
        synchronized (lock) {
            Map<String, FlowRecord> tail =
                    criteria.afterFlowId() == null ? byId : byId.tailMap(criteria.afterFlowId(), false);
            List<FlowRecord> out = new ArrayList<>();
            for (FlowRecord r : tail.values()) {
                if (criteria.matches(r)) {
                    out.add(r);
                    if (out.size() >= criteria.limit()) {
                        break;
                    }
                }
            }
            return out;
        }
    }

    private void index(FlowRecord r) {
        for (String h : r.keyHashes()) {
            idByKeyHash.put(h, r.id());
        }
        if (r.correlationId() != null) {
            idByCorrelation.put(r.correlationId(), r.id());
        }
    }

    private void unindex(FlowRecord r) {
        for (String h : r.keyHashes()) {
            idByKeyHash.remove(h, r.id());
        }
        if (r.correlationId() != null) {
            idByCorrelation.remove(r.correlationId(), r.id());
        }
    }
}
