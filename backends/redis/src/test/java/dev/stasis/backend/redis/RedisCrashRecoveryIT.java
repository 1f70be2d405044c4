package dev.stasis.backend.redis;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractCrashRecoveryTest;
import dev.stasis.tck.ChildStoreFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The TCK's crash injection on the standalone server: child JVMs run flows on the store and are killed with SIGKILL
 * at random moments; afterwards every flow whose key was handed out is completed, with its side effect applied once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedisCrashRecoveryIT extends AbstractCrashRecoveryTest {

    private final String prefix = "stasis-crash-" + UUID.randomUUID().toString().substring(0, 8);
    private RedisClient client;
    private RedisStore parent;

    @Override
    protected Class<? extends ChildStoreFactory> childFactory() {
        return RedisChildStoreFactory.class;
    }

    @Override
    protected Map<String, String> childEnvironment() {
        return Map.of("STASIS_TEST_REDIS_URI", RedisStoreIT.URI, "STASIS_TEST_REDIS_PREFIX", prefix);
    }

    @Override
    protected StateStore parentStore() {
        if (parent == null) {
            client = RedisClient.create(RedisStoreIT.URI);
            parent = RedisStore.builder(client).keyPrefix(prefix).build();
        }
        return parent;
    }

    @AfterAll
    void deleteKeys() {
        if (client == null) {
            client = RedisClient.create(RedisStoreIT.URI);
        }
        try (StatefulRedisConnection<String, byte[]> c = client.connect(RedisConnector.CODEC)) {
            new RedisSideChannel(c.sync(), prefix).deleteAll();
        } finally {
            if (parent != null) {
                parent.close().block(Duration.ofSeconds(30));
            }
            client.shutdown();
        }
    }
}
