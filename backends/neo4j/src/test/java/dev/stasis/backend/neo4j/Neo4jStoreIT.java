package dev.stasis.backend.neo4j;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractStateStoreContractTest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.neo4j.driver.Driver;
import org.neo4j.driver.Record;
import org.neo4j.driver.Session;
import org.neo4j.driver.Value;

/**
 * The contract suite against a real Neo4j (the harness server, or {@code NEO4J_URI}). The class gets labels of its
 * own ({@code It<random>_Flow}, {@code It<random>_Wait}), so it starts empty; they and their schema are dropped at the
 * end. The side channel is raw Cypher on a second driver.
 */
class Neo4jStoreIT extends AbstractStateStoreContractTest {

    private final String prefix = "It" + UUID.randomUUID().toString().substring(0, 8) + "_";
    private Driver storeDriver;
    private Driver sideChannel;

    @Override
    protected StateStore createStore() {
        System.err.println("[neo4j-it] " + getClass().getSimpleName() + " on " + HarnessServer.description()
                + ", labels " + prefix + "Flow/" + prefix + "Wait");
        storeDriver = HarnessServer.newDriver();
        sideChannel = HarnessServer.newDriver();
        return Neo4jStore.builder(storeDriver).labelPrefix(prefix).build();
    }

    /**
     * The full storm, 1000 keys x 32 concurrent resumes, as on every store. On the 2-core machine it takes about
     * 100 s here (every resume is two to three managed transactions against one local Neo4j); it fit the CI budget
     * once the harness JVM ran with the C2 compiler (see {@link HarnessServer}). {@code -Dstasis.neo4j.stormKeys=N}
     * runs a smaller one while working on the store.
     */
    @Override
    protected int stormKeys() {
        return Integer.getInteger("stasis.neo4j.stormKeys", 1000);
    }

    @Override
    protected void disposeStore(StateStore store) throws Exception {
        try {
            super.disposeStore(store);
            SideChannel.dropAll(sideChannel, prefix);
        } finally {
            storeDriver.close();
            sideChannel.close();
        }
    }

    @Override
    protected byte[] rawState(String flowId) {
        return SideChannel.state(sideChannel, prefix, flowId);
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        SideChannel.replaceState(sideChannel, prefix, flowId, state);
    }

    @Override
    protected String rawDump(String flowId) {
        return SideChannel.dump(sideChannel, prefix, flowId);
    }

    /** Raw Cypher that does not go through {@link Neo4jStore}. */
    static final class SideChannel {

        private SideChannel() {}

        static byte[] state(Driver driver, String prefix, String flowId) {
            try (Session s = driver.session()) {
                return s.run("MATCH (f:" + prefix + "Flow {id: $id}) RETURN f.state AS state", Map.of("id", flowId))
                        .single().get("state").asByteArray();
            }
        }

        static void replaceState(Driver driver, String prefix, String flowId, byte[] state) {
            try (Session s = driver.session()) {
                long n = s.run("MATCH (f:" + prefix + "Flow {id: $id}) SET f.state = $state RETURN count(f) AS n",
                        Map.of("id", flowId, "state", state)).single().get("n").asLong();
                if (n != 1) {
                    throw new IllegalStateException("no flow " + flowId);
                }
            }
        }

        /** Every property of the flow node and of every node it points to, as text; bytes as ISO-8859-1. */
        static String dump(Driver driver, String prefix, String flowId) {
            StringBuilder out = new StringBuilder();
            try (Session s = driver.session()) {
                for (Record r : s.run("MATCH (f:" + prefix + "Flow {id: $id}) "
                        + "OPTIONAL MATCH (f)-[rel]->(w) "
                        + "RETURN labels(f) AS fl, properties(f) AS fp, type(rel) AS rt, labels(w) AS wl, "
                        + "properties(w) AS wp", Map.of("id", flowId)).list()) {
                    if (out.length() == 0) {
                        out.append(r.get("fl").asList()).append(' ').append(text(r.get("fp"))).append('\n');
                    }
                    if (!r.get("rt").isNull()) {
                        out.append("  -[:").append(r.get("rt").asString()).append("]->")
                                .append(r.get("wl").asList()).append(' ').append(text(r.get("wp"))).append('\n');
                    }
                }
            }
            return out.toString();
        }

        private static String text(Value properties) {
            Map<String, String> sorted = new TreeMap<>();
            properties.asMap().forEach((k, v) -> sorted.put(k,
                    v instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1) : String.valueOf(v)));
            return sorted.toString();
        }

        /** Deletes the class's nodes and drops its constraints and indexes (they are named after its labels). */
        static void dropAll(Driver driver, String prefix) {
            try (Session s = driver.session()) {
                s.run("MATCH (n) WHERE n:" + prefix + "Flow OR n:" + prefix + "Wait "
                        + "CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume();
                for (Record r : s.run("SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH $p RETURN name",
                        Map.of("p", "stasis_" + prefix)).list()) {
                    s.run("DROP CONSTRAINT " + r.get("name").asString() + " IF EXISTS").consume();
                }
                for (Record r : s.run("SHOW INDEXES YIELD name WHERE name STARTS WITH $p RETURN name",
                        Map.of("p", "stasis_" + prefix)).list()) {
                    s.run("DROP INDEX " + r.get("name").asString() + " IF EXISTS").consume();
                }
            }
        }
    }
}
