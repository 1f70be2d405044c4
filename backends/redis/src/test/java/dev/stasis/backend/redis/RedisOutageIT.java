package dev.stasis.backend.redis;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractOutageTest;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The TCK's outage test on a private, restartable {@code redis-server} (AOF with fsync always, so nothing written is
 * lost across the restart). The client is configured as an application that wants fast failure would configure it:
 * commands are rejected while disconnected (lettuce's default is to queue them until reconnect or command timeout),
 * and reconnect attempts are 100 ms apart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedisOutageIT extends AbstractOutageTest {

    private RedisProcess server;
    private ClientResources resources;
    private RedisClient client;

    @Override
    protected StateStore createStore() throws Exception {
        int port = RedisProcess.freePorts(1).get(0);
        server = new RedisProcess(port, Paths.get("target", "redis-outage", Integer.toString(port)).toAbsolutePath(),
                List.of("--save", "", "--appendonly", "yes", "--appendfsync", "always")).start();
        resources = ClientResources.builder().reconnectDelay(Delay.constant(Duration.ofMillis(100))).build();
        client = RedisClient.create(resources, RedisURI.create("127.0.0.1", port));
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(5)))
                .build());
        return RedisStore.builder(client).build();
    }

    @Override
    protected void stopServer() {
        server.stop();
    }

    @Override
    protected void startServer() throws Exception {
        server.start();
    }

    @AfterAll
    void shutDown() {
        if (client != null) {
            client.shutdown();
        }
        if (resources != null) {
            resources.shutdown();
        }
        if (server != null) {
            server.stop();
        }
    }
}
