package dev.stasis.backend.neo4j;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.neo4j.driver.AuthToken;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Session;

/**
 * The Neo4j server of this test JVM. When {@code NEO4J_URI} is set (with {@code NEO4J_USER} and
 * {@code NEO4J_PASSWORD}, or no auth), that server is used. Otherwise a real Neo4j 5.26 is started once per JVM from
 * the {@code stasis-neo4j-harness} module, in its own JVM because it needs netty 4.1: its jar and
 * {@code harness-classpath.txt} are read from {@code ../neo4j-harness/target} (system properties
 * {@code stasis.neo4j.harness.dir} and {@code stasis.neo4j.harness.jar}, set by failsafe). The process is killed
 * ({@code destroyForcibly}, a graceful stop takes about ten seconds) and its work directory deleted at JVM exit; it
 * also exits by itself when this JVM dies, because it watches its standard input.
 */
final class HarnessServer {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /**
     * The full JIT and the parallel collector. C1 only with the serial collector is ready about 6 s sooner
     * (test-infra.md §2), but the tests keep this server busy for minutes: the 1000-key duplicate-resume storm took
     * 96 s with these flags and would take about 180 s with C1 only (measured: 100 keys in 18 s).
     */
    private static final String DEFAULT_JVM_ARGS = "-XX:+UseParallelGC -Xmx1g";
    private static final String MAIN = "dev.stasis.backend.neo4j.harness.Neo4jTestServer";

    private static String uri;
    /** Held open so that the harness sees end-of-input only when this JVM dies. */
    private static OutputStream harnessStdin;

    private HarnessServer() {}

    /**
     * The Bolt URI, starting the harness on first use.
     *
     * @return the URI
     */
    static synchronized String uri() {
        if (uri == null) {
            String external = System.getenv("NEO4J_URI");
            uri = external != null && !external.isBlank() ? external : start();
            warmUp(uri);
        }
        return uri;
    }

    /**
     * Where the tests ran, for messages.
     *
     * @return a description
     */
    static String description() {
        return System.getenv("NEO4J_URI") != null ? "external Neo4j at " + uri() : "neo4j-harness 5.26.30 at " + uri();
    }

    /**
     * The credentials: basic auth from {@code NEO4J_USER}/{@code NEO4J_PASSWORD} when set, otherwise none (the
     * harness runs without auth).
     *
     * @return the token
     */
    static AuthToken auth() {
        String user = System.getenv("NEO4J_USER");
        return user == null ? AuthTokens.none() : AuthTokens.basic(user, System.getenv().getOrDefault("NEO4J_PASSWORD", ""));
    }

    /**
     * A new driver on the server.
     *
     * @return the driver
     */
    static Driver newDriver() {
        return GraphDatabase.driver(uri(), auth());
    }

    private static String start() {
        Path harnessDir = Path.of(System.getProperty("stasis.neo4j.harness.dir", "../neo4j-harness/target"))
                .toAbsolutePath().normalize();
        Path jar = harnessDir.resolve(System.getProperty("stasis.neo4j.harness.jar", "stasis-neo4j-harness-0.1.0-SNAPSHOT.jar"));
        Path classpathFile = harnessDir.resolve("harness-classpath.txt");
        if (!Files.isRegularFile(jar) || !Files.isRegularFile(classpathFile)) {
            throw new IllegalStateException("the Neo4j test server is not built: " + jar + " or " + classpathFile
                    + " is missing. Build it first (mvn -pl backends/neo4j-harness package), build both modules in one"
                    + " reactor (mvn -pl backends/neo4j-harness,backends/neo4j verify), or set NEO4J_URI.");
        }
        try {
            Path base = Path.of(System.getProperty("stasis.neo4j.work.dir", "target/neo4j-harness")).toAbsolutePath();
            Files.createDirectories(base);
            Path runDir = Files.createTempDirectory(base, "run-");
            Path uriFile = runDir.resolve("bolt-uri");
            Path log = runDir.resolve("harness.log");
            String javaExe = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = new ArrayList<>();
            command.add(javaExe);
            command.addAll(List.of(System.getProperty("stasis.neo4j.harness.jvmArgs", DEFAULT_JVM_ARGS).trim()
                    .split("\\s+")));
            command.addAll(List.of("-Dstasis.harness.exitOnStdinEof=true",
                    "-cp", jar + File.pathSeparator + Files.readString(classpathFile).trim(),
                    MAIN, uriFile.toString(), runDir.resolve("work").toString()));
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            harnessStdin = p.getOutputStream();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(p, runDir), "neo4j-harness-stop"));
            long deadline = t0 + START_TIMEOUT.toNanos();
            while (!Files.exists(uriFile)) {
                // waitFor doubles as the poll interval and notices a harness that died
                if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException("the Neo4j test server exited with " + p.exitValue()
                            + " before it was ready; its output (" + log + "):\n" + tail(log));
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the Neo4j test server was not ready within " + START_TIMEOUT
                            .toSeconds() + " s (no " + uriFile + "); its output (" + log + "):\n" + tail(log));
                }
            }
            String bolt = Files.readString(uriFile).trim();
            System.err.printf("[neo4j-it] harness ready at %s in %d ms (pid %d)%n", bolt,
                    (System.nanoTime() - t0) / 1_000_000, p.pid());
            return bolt;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the Neo4j test server", e);
        }
    }

    /** The first statements on a cold server compile its query pipeline: pay that once, outside timed tests. */
    private static void warmUp(String bolt) {
        long t0 = System.nanoTime();
        try (Driver driver = GraphDatabase.driver(bolt, auth()); Session session = driver.session()) {
            session.run("RETURN 1").consume();
        }
        System.err.printf("[neo4j-it] warm-up query took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    private static void stop(Process p, Path runDir) {
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(runDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        } catch (IOException | InterruptedException e) {
            // best effort at JVM exit
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
