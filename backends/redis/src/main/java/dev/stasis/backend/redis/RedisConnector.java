package dev.stasis.backend.redis;

import dev.stasis.StorageException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The connections a store opens on the application's client (standalone or cluster), with a codec of UTF-8 string
 * keys and byte-array values. They are opened lazily on first use, without blocking the caller, reused by every
 * command (lettuce connections are thread-safe and pipeline concurrent commands) and closed by {@link #close()}. The
 * client itself belongs to the application.
 */
final class RedisConnector {

    static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

    private final String mode;
    private final int count;
    private final Mono<StatefulConnection<String, byte[]>> opener;
    private final Mono<List<Handle>> connections;
    private final AtomicReference<List<Handle>> opened = new AtomicReference<>(List.of());
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger next = new AtomicInteger();

    private record Handle(StatefulConnection<String, byte[]> connection,
            RedisClusterReactiveCommands<String, byte[]> commands) {}

    private RedisConnector(String mode, int count, Mono<StatefulConnection<String, byte[]>> opener) {
        this.mode = mode;
        this.count = count;
        this.opener = opener;
        this.connections = Mono.defer(this::openAll).cacheInvalidateIf(list -> closed.get());
    }

    /**
     * Connections to a standalone server (or a master/replica URI the client resolves).
     *
     * @param client the application's client
     * @param uri where to connect, or {@code null} for the client's default URI (then the connect runs on the
     *     bounded-elastic scheduler, because lettuce offers no asynchronous connect to the default URI)
     * @param count how many connections to open
     * @return the connector
     */
    static RedisConnector standalone(RedisClient client, @Nullable RedisURI uri, int count) {
        Mono<StatefulConnection<String, byte[]>> opener = uri == null
                ? Mono.<StatefulConnection<String, byte[]>>fromCallable(() -> client.connect(CODEC))
                        .subscribeOn(Schedulers.boundedElastic())
                : Mono.fromFuture(() -> client.connectAsync(CODEC, uri).toCompletableFuture())
                        .map(c -> (StatefulConnection<String, byte[]>) c);
        return new RedisConnector("standalone", count, opener);
    }

    /**
     * Connections to a Redis Cluster (each one routes by slot to the right node).
     *
     * @param client the application's cluster client
     * @param count how many connections to open
     * @return the connector
     */
    static RedisConnector cluster(RedisClusterClient client, int count) {
        Mono<StatefulConnection<String, byte[]>> opener = Mono.fromFuture(() -> client.connectAsync(CODEC))
                .map(c -> (StatefulConnection<String, byte[]>) c);
        return new RedisConnector("cluster", count, opener);
    }

    /**
     * "standalone" or "cluster".
     *
     * @return the mode
     */
    String mode() {
        return mode;
    }

    /**
     * The commands of the next connection (round robin), opening the connections on first use.
     *
     * @return the commands
     */
    Mono<RedisClusterReactiveCommands<String, byte[]>> commands() {
        return Mono.defer(() -> closed.get()
                ? Mono.error(new StorageException("the redis store is closed"))
                : connections.map(list -> list.get(Math.floorMod(next.getAndIncrement(), list.size())).commands()));
    }

    /**
     * Facts about the open connections, for health.
     *
     * @return details
     */
    Map<String, String> details() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("mode", mode);
        d.put("connections", Integer.toString(opened.get().size()));
        for (Handle h : opened.get()) {
            if (h.connection() instanceof StatefulRedisClusterConnection<String, byte[]> c) {
                d.put("clusterNodes", Integer.toString(c.getPartitions().size()));
                break;
            }
        }
        return d;
    }

    /**
     * Closes what this connector opened; later commands fail.
     *
     * @return completes when closed
     */
    Mono<Void> close() {
        return Mono.defer(() -> {
            closed.set(true);
            return closeAll(opened.getAndSet(List.of()));
        });
    }

    private Mono<List<Handle>> openAll() {
        return Flux.range(0, count)
                .concatMap(i -> opener)
                .map(RedisConnector::handle)
                .collectList()
                .flatMap(list -> {
                    if (closed.get()) {
                        return closeAll(list).then(Mono.error(new StorageException("the redis store is closed")));
                    }
                    List<Handle> all = new ArrayList<>(opened.get());
                    all.addAll(list);
                    opened.set(List.copyOf(all));
                    return Mono.just(list);
                });
    }

    private static Handle handle(StatefulConnection<String, byte[]> c) {
        if (c instanceof StatefulRedisClusterConnection<String, byte[]> cc) {
            return new Handle(c, cc.reactive());
        }
        if (c instanceof StatefulRedisConnection<String, byte[]> sc) {
            return new Handle(c, sc.reactive());
        }
        throw new IllegalStateException("unexpected connection type " + c.getClass().getName());
    }

    private static Mono<Void> closeAll(List<Handle> handles) {
        return Flux.fromIterable(handles)
                .flatMap(h -> Mono.fromFuture(() -> h.connection().closeAsync()).onErrorResume(e -> Mono.empty()))
                .then();
    }
}
