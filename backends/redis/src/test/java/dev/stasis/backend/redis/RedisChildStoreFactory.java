package dev.stasis.backend.redis;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.ChildStoreFactory;
import io.lettuce.core.RedisClient;
import java.util.Map;

/**
 * Opens the crash suite's store in a child JVM: {@code STASIS_TEST_REDIS_URI} and {@code STASIS_TEST_REDIS_PREFIX}.
 * The child is killed or exits; it never closes the client.
 */
public final class RedisChildStoreFactory implements ChildStoreFactory {

    /** Used reflectively by the child. */
    public RedisChildStoreFactory() {}

    @Override
    public StateStore create(Map<String, String> environment) {
        RedisClient client = RedisClient.create(
                environment.getOrDefault("STASIS_TEST_REDIS_URI", "redis://127.0.0.1:6379"));
        return RedisStore.builder(client).keyPrefix(environment.get("STASIS_TEST_REDIS_PREFIX")).build();
    }
}
