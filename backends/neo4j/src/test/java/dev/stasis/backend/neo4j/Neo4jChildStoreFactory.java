package dev.stasis.backend.neo4j;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.ChildStoreFactory;
import java.util.Map;
import org.neo4j.driver.AuthToken;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.GraphDatabase;

/**
 * Opens the crash suite's store in a child JVM: the Bolt URI from {@value #ENV_URI} (the parent's harness server or
 * {@code NEO4J_URI}), the label prefix from {@value #ENV_PREFIX}, and basic auth from {@code NEO4J_USER} /
 * {@code NEO4J_PASSWORD} when set (as {@link HarnessServer#auth()}). The child is killed or exits; it never closes
 * the driver.
 */
public final class Neo4jChildStoreFactory implements ChildStoreFactory {

    /** The variable holding the Bolt URI. */
    static final String ENV_URI = "STASIS_TEST_NEO4J_CHILD_URI";
    /** The variable holding the label prefix of the crash run. */
    static final String ENV_PREFIX = "STASIS_TEST_NEO4J_PREFIX";

    /** Used reflectively by the child. */
    public Neo4jChildStoreFactory() {}

    @Override
    public StateStore create(Map<String, String> environment) {
        String uri = environment.get(ENV_URI);
        String prefix = environment.get(ENV_PREFIX);
        if (uri == null || prefix == null) {
            throw new IllegalStateException(ENV_URI + " and " + ENV_PREFIX + " must be set");
        }
        String user = environment.get("NEO4J_USER");
        AuthToken auth = user == null
                ? AuthTokens.none()
                : AuthTokens.basic(user, environment.getOrDefault("NEO4J_PASSWORD", ""));
        return Neo4jStore.builder(GraphDatabase.driver(uri, auth)).labelPrefix(prefix).build();
    }
}
