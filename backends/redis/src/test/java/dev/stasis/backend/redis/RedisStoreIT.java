package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.StorageUnavailableException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The contract suite against a standalone Redis: {@code STASIS_TEST_REDIS_URI}, default
 * {@code redis://127.0.0.1:6379}.
 */
class RedisStoreIT extends RedisStoreContractBase {

    static final String URI = System.getenv().getOrDefault("STASIS_TEST_REDIS_URI", "redis://127.0.0.1:6379");

    private RedisClient client;
    private StatefulRedisConnection<String, byte[]> sideConnection;

    @Override
    protected RedisStore.Builder storeBuilder() {
        if (client == null) {
            client = RedisClient.create(URI);
        }
        return RedisStore.builder(client);
    }

    @Override
    protected RedisClusterCommands<String, byte[]> sideChannelCommands() {
        if (client == null) {
            client = RedisClient.create(URI);
        }
        sideConnection = client.connect(RedisConnector.CODEC);
        return sideConnection.sync();
    }

    @Override
    protected void closeClients() {
        if (sideConnection != null) {
            sideConnection.close();
        }
        if (client != null) {
            client.shutdown();
        }
    }

    @Test
    @DisplayName("redis: with an explicit URI the store connects asynchronously")
    void explicitUri() {
        RedisStore other = RedisStore.builder(client).redisUri(RedisURI.create(URI)).keyPrefix(prefix).build();
        other.provision().subscribeOn(Schedulers.parallel()).as(StepVerifier::create).verifyComplete();
        other.health().subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isTrue())
                .verifyComplete();
        other.close().as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("redis: an unreachable server is StorageUnavailableException, and health reports it down")
    void unreachableServer() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RedisClient dead = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
                .withTimeout(Duration.ofSeconds(2)).build());
        try {
            RedisStore unreachable = RedisStore.builder(dead).keyPrefix(prefix).build();
            unreachable.findById("00000000000000000000000000000000").subscribeOn(Schedulers.parallel())
                    .as(StepVerifier::create)
                    .verifyError(StorageUnavailableException.class);
            unreachable.health().subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                    .assertNext(h -> {
                        assertThat(h.up()).isFalse();
                        assertThat(h.details()).containsKey("error");
                    })
                    .verifyComplete();
            unreachable.close().as(StepVerifier::create).verifyComplete();
        } finally {
            dead.shutdown();
        }
    }
}
