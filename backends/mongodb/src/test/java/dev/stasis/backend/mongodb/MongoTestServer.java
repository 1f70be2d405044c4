package dev.stasis.backend.mongodb;

import com.mongodb.ConnectionString;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.time.Duration;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The server the MongoDB tests run against: a real MongoDB when {@code STASIS_TEST_MONGODB_URI} names one, otherwise
 * mongo-java-server (memory backend) started in this JVM on a random port. Either way the tests talk to it through
 * the real reactive streams driver, and each test class gets a fresh database.
 */
final class MongoTestServer implements AutoCloseable {

    /** The environment variable naming a real MongoDB, e.g. {@code mongodb://127.0.0.1:27017}. */
    static final String URI_ENV = "STASIS_TEST_MONGODB_URI";

    private final @Nullable MongoServer inProcess;
    private final String uri;
    private final MongoClient client;
    private final String database;

    private MongoTestServer(@Nullable MongoServer inProcess, String uri) {
        this.inProcess = inProcess;
        this.uri = uri;
        this.client = MongoClients.create(uri);
        this.database = "stasis_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /**
     * Starts (or connects to) the server.
     *
     * @return the server
     */
    static MongoTestServer start() {
        String external = System.getenv(URI_ENV);
        if (external != null && !external.isBlank()) {
            return new MongoTestServer(null, external);
        }
        MongoServer server = new MongoServer(new MemoryBackend());
        String uri = server.bindAndGetConnectionString();
        return new MongoTestServer(server, uri);
    }

    /** @return whether this is the in-process mongo-java-server (no TTL monitor, no secondary indexes) */
    boolean inProcess() {
        return inProcess != null;
    }

    /** @return the connection string */
    String uri() {
        return uri;
    }

    /** @return a client the test owns (closed by {@link #close()}) */
    MongoClient client() {
        return client;
    }

    /** @return the fresh database of this test class */
    String database() {
        return database;
    }

    /** @return what the tests ran against, for the logs */
    String describe() {
        return inProcess != null
                ? "mongo-java-server 1.47.0 in-process (memory backend) at " + uri
                : "MongoDB at " + new ConnectionString(uri).getHosts() + " (" + URI_ENV + ")";
    }

    @Override
    public void close() {
        try {
            if (inProcess == null) {
                Mono.from(client.getDatabase(database).drop()).block(Duration.ofSeconds(30));
            }
        } finally {
            client.close();
            if (inProcess != null) {
                inProcess.shutdownNow();
            }
        }
    }
}
