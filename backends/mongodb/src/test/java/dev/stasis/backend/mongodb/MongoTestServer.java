package dev.stasis.backend.mongodb;

import com.mongodb.ConnectionString;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.UUID;
import org.bson.BsonDocument;
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
        // ONE worker thread: mongo-java-server 1.47.0 encodes query replies outside its collection lock while an
        // update mutates the stored document in place, so a read racing a write of the same document fails with
        // ConcurrentModificationException and the server drops the connection. One event loop processes every
        // request (and encodes its reply) in turn, across all connections; the driver side keeps its full pool.
        server.bind(new InetSocketAddress("127.0.0.1", 0), 1, 1);
        InetSocketAddress bound = server.getLocalAddress();
        // a hang guard: a reply the fake never sends fails the call instead of blocking the test run
        return new MongoTestServer(
                server, "mongodb://" + bound.getHostString() + ":" + bound.getPort() + "/?socketTimeoutMS=60000");
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

    /**
     * On the in-process server only: adds a unique {@code {_id, version}} index to a collection. mongo-java-server
     * answers a filter from an index only when the filter's fields equal the index's fields, so without it every
     * compare-and-set and versioned delete ({@code {_id: id, version: v}}) scans the whole collection, which made
     * the duplicate-resume storm several times slower. MongoDB answers that filter from the {@code _id} index and
     * needs nothing; the store does not create this index and its correctness does not depend on it.
     *
     * @param collection the store's collection
     */
    void indexIdAndVersionForTheFake(MongoCollection<BsonDocument> collection) {
        if (inProcess != null) {
            Mono.from(collection.createIndex(Indexes.ascending("_id", "version"),
                            new IndexOptions().name("test_only_id_version").unique(true)))
                    .block(Duration.ofSeconds(30));
        }
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
