package dev.stasis.backend.neo4j.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.io.ByteUnit;

/**
 * Starts an in-process Neo4j with Bolt only (no HTTP), writes its Bolt URI to a file and blocks until the process is
 * killed. Usage: {@code java -cp <jar>:<classpath> dev.stasis.backend.neo4j.harness.Neo4jTestServer <uri-file>
 * [<work-dir>]}. The URI file is written to a temporary sibling and renamed, so a reader never sees a partial URI.
 * With {@code -Dstasis.harness.exitOnStdinEof=true} the server also exits when its standard input closes, so it
 * dies with the test JVM that started it even when that JVM is killed without running its shutdown hooks.
 */
public final class Neo4jTestServer {

    private Neo4jTestServer() {}

    /**
     * Runs the server.
     *
     * @param args the URI file, then optionally the working directory (default {@code target/neo4j-harness-work})
     * @throws Exception when the server cannot start or the URI file cannot be written
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: Neo4jTestServer <uri-file> [<work-dir>]");
        }
        Path uriFile = Path.of(args[0]).toAbsolutePath();
        Path workDir = Path.of(args.length > 1 ? args[1] : "target/neo4j-harness-work").toAbsolutePath();
        Files.createDirectories(workDir);
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(workDir)
                .withDisabledServer()
                .withConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(16))
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.preallocate_store_files, false)
                .build();
        Path tmp = uriFile.resolveSibling(uriFile.getFileName() + ".tmp");
        Files.writeString(tmp, neo4j.boltURI().toString());
        Files.move(tmp, uriFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.err.println("[neo4j-harness] ready at " + neo4j.boltURI());
        if (Boolean.getBoolean("stasis.harness.exitOnStdinEof")) {
            drain(System.in);
            // the parent is gone: stop at once, a graceful close() takes about ten seconds
            Runtime.getRuntime().halt(0);
        }
        new CountDownLatch(1).await();
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // discard
        }
    }
}
