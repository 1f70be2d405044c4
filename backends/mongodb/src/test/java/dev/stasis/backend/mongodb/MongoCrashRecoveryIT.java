package dev.stasis.backend.mongodb;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractCrashRecoveryTest;
import dev.stasis.tck.ChildStoreFactory;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The TCK's crash injection. The server lives in this (parent) JVM: mongo-java-server bound to a TCP port (or the
 * real MongoDB of {@code STASIS_TEST_MONGODB_URI}, see {@link MongoTestServer}); the child JVMs connect to it over
 * the wire with the real reactive driver, so the data survives their SIGKILLs. Afterwards every flow whose key was
 * handed out is completed, with its side effect applied once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoCrashRecoveryIT extends AbstractCrashRecoveryTest {

    private MongoTestServer server;
    private MongoStore parent;

    @BeforeAll
    void startServer() {
        // every SIGKILLed child resets its connections, which the fake logs as an ERROR with a stack trace (about
        // 2,700 lines per run); a reset connection is the expected outcome here
        System.setProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoExceptionHandler", "off");
        server = MongoTestServer.start();
        System.err.println("[mongodb] " + getClass().getSimpleName() + " runs against " + server.describe());
        server.indexIdAndVersionForTheFake(server.client().getDatabase(server.database())
                .getCollection(MongoStore.DEFAULT_COLLECTION, org.bson.BsonDocument.class));
    }

    @Override
    protected Class<? extends ChildStoreFactory> childFactory() {
        return MongoChildStoreFactory.class;
    }

    @Override
    protected Map<String, String> childEnvironment() {
        return Map.of(MongoChildStoreFactory.ENV_URI, server.uri(),
                MongoChildStoreFactory.ENV_DATABASE, server.database());
    }

    @Override
    protected StateStore parentStore() {
        if (parent == null) {
            parent = MongoStore.builder(server.client()).database(server.database()).build();
        }
        return parent;
    }

    @AfterAll
    void stopServer() {
        if (server != null) {
            server.close(); // drops the database on a real MongoDB; stops the in-process server
        }
    }
}
