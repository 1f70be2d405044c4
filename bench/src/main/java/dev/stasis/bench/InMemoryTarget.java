package dev.stasis.bench;

import dev.stasis.spi.InMemoryStore;
import dev.stasis.spi.StateStore;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/** The engine's reference in-memory store; its floor is a {@link ConcurrentHashMap} put and remove. */
final class InMemoryTarget implements StoreTarget {

    private final InMemoryStore store = new InMemoryStore();
    private final ConcurrentHashMap<String, byte[]> map = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "in-memory";
    }

    @Override
    public String description() {
        return "dev.stasis.spi.InMemoryStore in the harness JVM";
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public Floor floor() {
        return new Floor() {
            @Override
            public String describe() {
                return "ConcurrentHashMap put + remove";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return Mono.fromRunnable(() -> map.put(id, payload));
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return Mono.fromCallable(() -> map.remove(id))
                        .switchIfEmpty(Mono.error(() -> new IllegalStateException("floor: no record " + id)));
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        return null;
    }

    @Override
    public String storedBytesMethod() {
        return "estimate: mean sealed state size (the store keeps records as Java objects)";
    }

    @Override
    public void close() {
        map.clear();
    }
}
