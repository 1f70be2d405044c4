package dev.stasis.backend.mongodb;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.ChildStoreFactory;
import java.util.Map;

/**
 * Opens the crash suite's store in a child JVM: the connection string from {@value #ENV_URI} (the parent's
 * mongo-java-server, or a real MongoDB) and the database from {@value #ENV_DATABASE}. The store owns its client; the
 * child is killed or exits and never closes it.
 */
public final class MongoChildStoreFactory implements ChildStoreFactory {

    /** The variable holding the connection string. */
    static final String ENV_URI = "STASIS_TEST_MONGODB_CHILD_URI";
    /** The variable holding the database the crash run uses. */
    static final String ENV_DATABASE = "STASIS_TEST_MONGODB_DATABASE";

    /** Used reflectively by the child. */
    public MongoChildStoreFactory() {}

    @Override
    public StateStore create(Map<String, String> environment) {
        String uri = environment.get(ENV_URI);
        String database = environment.get(ENV_DATABASE);
        if (uri == null || database == null) {
            throw new IllegalStateException(ENV_URI + " and " + ENV_DATABASE + " must be set");
        }
        return MongoStore.builder(uri).database(database).build();
    }
}
