package dev.stasis.backend.postgres;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.ChildStoreFactory;
import java.util.Map;

/**
 * Opens the crash suite's store in a child JVM: the server from {@value #ENV_URL} (an r2dbc URL, set by the parent
 * from {@link PgTestSupport#url()}) and the schema from {@value #ENV_SCHEMA}. The child is killed or exits; it never
 * closes the pool (the server drops a killed child's connections and rolls back what they had open).
 */
public final class PostgresChildStoreFactory implements ChildStoreFactory {

    /** The variable holding the r2dbc URL of the server. */
    static final String ENV_URL = "STASIS_TEST_PG_URL";
    /** The variable holding the schema the crash run uses. */
    static final String ENV_SCHEMA = "STASIS_TEST_PG_SCHEMA";

    /** Used reflectively by the child. */
    public PostgresChildStoreFactory() {}

    @Override
    public StateStore create(Map<String, String> environment) {
        String url = environment.get(ENV_URL);
        String schema = environment.get(ENV_SCHEMA);
        if (url == null || schema == null) {
            throw new IllegalStateException(ENV_URL + " and " + ENV_SCHEMA + " must be set");
        }
        // a small pool: up to 100 incarnations come and go, and the shared server has max_connections = 100
        return PostgresStore.builder(url).schema(schema).maxPoolSize(5).build();
    }
}
