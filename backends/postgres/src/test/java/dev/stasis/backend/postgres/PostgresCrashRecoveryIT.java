package dev.stasis.backend.postgres;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractCrashRecoveryTest;
import dev.stasis.tck.ChildStoreFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The TCK's crash injection on the shared PostgreSQL server (see {@link PgTestSupport}), in a fresh schema that is
 * dropped with CASCADE afterwards: child JVMs run flows on the store and are killed with SIGKILL at random moments;
 * afterwards every flow whose key was handed out is completed, with its side effect applied once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresCrashRecoveryIT extends AbstractCrashRecoveryTest {

    private final String schema = PgTestSupport.freshSchema();
    private PostgresStore parent;

    @Override
    protected Class<? extends ChildStoreFactory> childFactory() {
        return PostgresChildStoreFactory.class;
    }

    @Override
    protected Map<String, String> childEnvironment() {
        return Map.of(PostgresChildStoreFactory.ENV_URL, PgTestSupport.url(),
                PostgresChildStoreFactory.ENV_SCHEMA, schema);
    }

    @Override
    protected StateStore parentStore() {
        if (parent == null) {
            parent = PostgresStore.builder(PgTestSupport.url()).schema(schema).build();
        }
        return parent;
    }

    @AfterAll
    void dropSchema() {
        try (PgTestSupport.SideChannel side = PgTestSupport.SideChannel.open()) {
            side.dropSchema(schema);
        } finally {
            if (parent != null) {
                parent.close().block(Duration.ofSeconds(30));
            }
        }
    }
}
