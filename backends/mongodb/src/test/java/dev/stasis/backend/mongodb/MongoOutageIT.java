package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractOutageTest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The TCK's outage test on a mongo-java-server of its own (never a shared server). {@link #stopServer()} shuts the
 * server down: the listening socket and every client connection are closed, so the driver sees a server that is
 * gone. {@link #startServer()} binds a new server on the same port over the same {@link MemoryBackend} instance,
 * which keeps the data: mongo-java-server's {@code shutdown} calls {@code backend.close()}, which clears every
 * database, so the backend here ignores {@code close()} (a test-only subclass; the data lives in this JVM, the fake
 * has no disk). The store's client fails fast while the server is down: {@code serverSelectionTimeoutMS=2000} and
 * {@code connectTimeoutMS=1000} in the connection string. Not run against {@code STASIS_TEST_MONGODB_URI}: a real
 * server is not ours to stop.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoOutageIT extends AbstractOutageTest {

    /** Survives its server's shutdown. */
    private static final class KeptBackend extends MemoryBackend {
        @Override
        public void close() {
            // keep the databases: the next server on this port serves them again
        }
    }

    private final KeptBackend backend = new KeptBackend();
    private MongoServer server;
    private int port;
    private MongoStore store;

    @Override
    protected StateStore createStore() {
        System.setProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoExceptionHandler", "off");
        server = bind(0);
        port = server.getLocalAddress().getPort();
        store = MongoStore.builder("mongodb://127.0.0.1:" + port
                        + "/?serverSelectionTimeoutMS=2000&connectTimeoutMS=1000&socketTimeoutMS=10000")
                .database("stasis_outage")
                .build();
        return store;
    }

    @Override
    protected void stopServer() {
        server.shutdownNow();
        server = null;
        assertThat(accepts(port)).as("port " + port + " still accepts connections").isFalse();
    }

    @Override
    protected void startServer() {
        server = bind(port);
        System.err.printf("[mongodb-outage] mongo-java-server listening again on port %d%n", port);
    }

    private MongoServer bind(int onPort) {
        MongoServer s = new MongoServer(backend);
        // one worker thread, as MongoTestServer explains
        s.bind(new InetSocketAddress("127.0.0.1", onPort), 1, 1);
        return s;
    }

    @AfterAll
    void shutDown() {
        try {
            if (store != null) {
                store.close().block(Duration.ofSeconds(30));
            }
        } finally {
            if (server != null) {
                server.shutdownNow();
            }
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
