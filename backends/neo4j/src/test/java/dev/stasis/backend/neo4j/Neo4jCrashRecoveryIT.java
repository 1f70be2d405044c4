package dev.stasis.backend.neo4j;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractCrashRecoveryTest;
import dev.stasis.tck.ChildStoreFactory;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.neo4j.driver.Driver;

/**
 * The TCK's crash injection against the harness Neo4j (or {@code NEO4J_URI}, see {@link HarnessServer}): child JVMs
 * connect over Bolt, run flows and are killed with SIGKILL at random moments; afterwards every flow whose key was
 * handed out is completed, with its side effect applied once. The run has labels of its own
 * ({@code Crash<random>_Flow}, {@code _Wait}), so it sees no other test's nodes; they and their constraints and
 * indexes are dropped at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Neo4jCrashRecoveryIT extends AbstractCrashRecoveryTest {

    private final String prefix = "Crash" + UUID.randomUUID().toString().substring(0, 8) + "_";
    private Driver driver;
    private Neo4jStore parent;

    @Override
    protected Class<? extends ChildStoreFactory> childFactory() {
        return Neo4jChildStoreFactory.class;
    }

    @Override
    protected Map<String, String> childEnvironment() {
        System.err.println("[neo4j-it] " + getClass().getSimpleName() + " on " + HarnessServer.description()
                + ", labels " + prefix + "Flow/" + prefix + "Wait");
        return Map.of(Neo4jChildStoreFactory.ENV_URI, HarnessServer.uri(), Neo4jChildStoreFactory.ENV_PREFIX, prefix);
    }

    @Override
    protected StateStore parentStore() {
        if (parent == null) {
            driver = HarnessServer.newDriver();
            parent = Neo4jStore.builder(driver).labelPrefix(prefix).build();
        }
        return parent;
    }

    @AfterAll
    void dropLabels() {
        Driver side = driver != null ? driver : HarnessServer.newDriver();
        try {
            Neo4jStoreIT.SideChannel.dropAll(side, prefix);
        } finally {
            side.close();
        }
    }
}
