package dev.stasis.bench;

import dev.stasis.backend.redis.RedisStore;
import dev.stasis.spi.StateStore;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A {@link RedisStore} under a fresh key prefix. Floor, on its own connection (the store also uses one by default):
 * {@code SET} (suspend) and {@code GETDEL} (resume). Side channel: {@code INFO memory} {@code used_memory}, delta over
 * the suspend phase (includes the store's index structures; other clients of the server would disturb it).
 */
final class RedisTarget implements StoreTarget {

    private static final Pattern USED_MEMORY = Pattern.compile("used_memory:(\\d+)");
    private static final Pattern VERSION = Pattern.compile("redis_version:(\\S+)");

    private final String prefix = "stasis-bench-" + UUID.randomUUID().toString().substring(0, 8);
    private final String uri;
    private final RedisClient client;
    private final RedisStore store;
    private final StatefulRedisConnection<String, byte[]> floorConnection;
    private final StatefulRedisConnection<String, String> side;

    RedisTarget(TargetConfig config) {
        this.uri = config.redisUri();
        this.client = RedisClient.create(uri);
        this.store = RedisStore.builder(client).keyPrefix(prefix).build();
        store.provision().block();
        this.floorConnection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        this.side = client.connect(StringCodec.UTF8);
    }

    @Override
    public String name() {
        return "redis";
    }

    @Override
    public String description() {
        Matcher m = VERSION.matcher(side.sync().info("server"));
        return "Redis " + (m.find() ? m.group(1) : "?") + " at " + uri + ", key prefix " + prefix;
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public Floor floor() {
        RedisReactiveCommands<String, byte[]> c = floorConnection.reactive();
        String floorPrefix = prefix + ":floor:";
        return new Floor() {
            @Override
            public String describe() {
                return "SET + GETDEL";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return c.set(floorPrefix + id, payload);
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return c.getdel(floorPrefix + id)
                        .switchIfEmpty(Mono.error(() -> new IllegalStateException("floor: no key " + id)));
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        Matcher m = USED_MEMORY.matcher(side.sync().info("memory"));
        return m.find() ? Long.parseLong(m.group(1)) : null;
    }

    @Override
    public String storedBytesMethod() {
        return "measured: INFO memory used_memory, delta over the suspend phase (records, key-hash hints, indexes)";
    }

    @Override
    public void close() {
        try {
            RedisCommands<String, String> sync = side.sync();
            ScanCursor cursor = ScanCursor.INITIAL;
            ScanArgs args = ScanArgs.Builder.matches(prefix + "*").limit(1000);
            do {
                KeyScanCursor<String> page = sync.scan(cursor, args);
                if (!page.getKeys().isEmpty()) {
                    sync.unlink(page.getKeys().toArray(new String[0]));
                }
                cursor = page;
            } while (!cursor.isFinished());
        } finally {
            store.close().block();
            floorConnection.close();
            side.close();
            client.shutdown();
        }
    }
}
