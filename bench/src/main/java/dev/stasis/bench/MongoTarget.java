package dev.stasis.bench;

import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.mongodb.reactivestreams.client.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import dev.stasis.backend.mongodb.MongoStore;
import dev.stasis.spi.StateStore;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.UUID;
import org.bson.Document;
import org.bson.types.Binary;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A {@link MongoStore} in a fresh database, on the MongoDB named by {@code --mongo-uri} or, by default, on
 * mongo-java-server (memory backend) that this target starts in the harness JVM: no real mongod can be installed on
 * the project's machines. That server is a Java fake with one worker thread (the stores' ITs use the same setting to
 * avoid a race in it), so its numbers say little about a real MongoDB; the engine/floor ratio still compares like
 * with like. Floor: {@code insertOne} (suspend) and {@code findOneAndUpdate} on {@code {_id, s: 0}} (resume).
 */
final class MongoTarget implements StoreTarget {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final @Nullable MongoServer server;
    private final String uri;
    private final MongoClient client;
    private final MongoDatabase database;
    private final String databaseName = "stasis_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    private final MongoStore store;

    MongoTarget(TargetConfig config) {
        if (config.mongoUri() == null) {
            server = new MongoServer(new MemoryBackend());
            server.bind(new InetSocketAddress("127.0.0.1", 0), 1, 1);
            InetSocketAddress a = server.getLocalAddress();
            uri = "mongodb://" + a.getHostString() + ":" + a.getPort() + "/?socketTimeoutMS=60000";
            config.out().println("[bench] mongodb: started mongo-java-server (in-process, memory backend) at " + uri);
        } else {
            server = null;
            uri = config.mongoUri();
        }
        client = MongoClients.create(uri);
        database = client.getDatabase(databaseName);
        store = MongoStore.builder(client).database(databaseName).build();
        store.provision().block(WAIT);
    }

    @Override
    public String name() {
        return "mongodb";
    }

    @Override
    public String description() {
        return (server != null ? "mongo-java-server (in-process fake, memory backend, 1 worker thread, started by the"
                + " harness)" : "MongoDB at " + uri) + ", database " + databaseName;
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public Floor floor() {
        MongoCollection<Document> floor = database.getCollection("floor");
        FindOneAndUpdateOptions after = new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER);
        return new Floor() {
            @Override
            public String describe() {
                return "insertOne + findOneAndUpdate";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return Mono.from(floor.insertOne(new Document("_id", id).append("s", 0).append("state", new Binary(payload))));
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return Mono.from(floor.findOneAndUpdate(Filters.and(Filters.eq("_id", id), Filters.eq("s", 0)),
                                Updates.set("s", 1), after))
                        .map(d -> d.get("state", Binary.class).getData())
                        .switchIfEmpty(Mono.error(() -> new IllegalStateException("floor: no claimable document " + id)));
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        try {
            Document stats = Mono.from(database.runCommand(new Document("collStats", MongoStore.DEFAULT_COLLECTION)))
                    .block(WAIT);
            if (stats == null || !(stats.get("size") instanceof Number size)) {
                return null;
            }
            long total = size.longValue();
            if (stats.get("totalIndexSize") instanceof Number idx) {
                total += idx.longValue();
            }
            return total;
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public String storedBytesMethod() {
        return "collStats size + totalIndexSize, delta over the suspend phase (what the server reports; the in-process"
                + " fake reports BSON document sizes)";
    }

    @Override
    public void close() {
        try {
            Mono.from(database.drop()).block(WAIT);
        } catch (RuntimeException e) {
            // best effort
        }
        store.close().block(WAIT);
        client.close();
        if (server != null) {
            server.shutdownNow();
        }
    }
}
