package dev.stasis.bench;

import dev.stasis.backend.neo4j.Neo4jStore;
import dev.stasis.spi.StateStore;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.neo4j.driver.AuthToken;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Session;
import org.neo4j.driver.reactivestreams.ReactiveResult;
import org.neo4j.driver.reactivestreams.ReactiveSession;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link Neo4jStore} under a fresh label prefix, on the server named by {@code NEO4J_URI} ({@code --neo4j-uri}) or,
 * by default, on a Neo4j 5.26 that this target starts in its own JVM from {@code backends/neo4j-harness/target} (the
 * jar and {@code harness-classpath.txt}), exactly as the Neo4j store's IT does (it needs netty 4.1). Floor:
 * {@code CREATE} (suspend) and {@code MATCH (n {id: $id, s: 0}) SET n.s = 1 RETURN n.state} (resume), each in a
 * managed write transaction, with a uniqueness constraint on the id as the store has.
 */
final class Neo4jTarget implements StoreTarget {

    private static final String MAIN = "dev.stasis.backend.neo4j.harness.Neo4jTestServer";
    private static final long START_TIMEOUT_MS = 120_000;

    private final String labelPrefix = "Bench" + UUID.randomUUID().toString().replace("-", "").substring(0, 8) + "_";
    private final String floorLabel = labelPrefix + "Floor";
    private final @Nullable Process harness;
    private final @Nullable Path runDir;
    private final String uri;
    private final Driver driver;
    private final Neo4jStore store;

    Neo4jTarget(TargetConfig config) {
        if (config.neo4jUri() != null) {
            harness = null;
            runDir = null;
            uri = config.neo4jUri();
        } else {
            try {
                runDir = Files.createTempDirectory(Files.createDirectories(config.workDir()), "neo4j-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path uriFile = runDir.resolve("bolt-uri");
            harness = start(config, uriFile);
            try {
                uri = Files.readString(uriFile).trim();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        driver = GraphDatabase.driver(uri, auth());
        try (Session s = driver.session()) {
            s.run("RETURN 1").consume();
            s.run("CREATE CONSTRAINT " + floorLabel + "_id IF NOT EXISTS FOR (n:" + floorLabel + ") REQUIRE n.id IS UNIQUE")
                    .consume();
        }
        store = Neo4jStore.builder(driver).labelPrefix(labelPrefix).build();
        store.provision().block();
    }

    private static AuthToken auth() {
        String user = System.getenv("NEO4J_USER");
        return user == null ? AuthTokens.none() : AuthTokens.basic(user, System.getenv().getOrDefault("NEO4J_PASSWORD", ""));
    }

    private Process start(TargetConfig config, Path uriFile) {
        Path dir = config.neo4jHarnessDir().toAbsolutePath().normalize();
        Path classpath = dir.resolve("harness-classpath.txt");
        Path jar;
        try (Stream<Path> s = Files.list(dir)) {
            jar = s.filter(p -> p.getFileName().toString().matches("stasis-neo4j-harness-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no stasis-neo4j-harness jar in " + dir));
        } catch (IOException e) {
            throw new IllegalStateException("the Neo4j harness is not built (" + dir + " is missing): build"
                    + " backends/neo4j-harness (mvn -pl backends/neo4j-harness package) or pass --neo4j-uri", e);
        }
        if (!Files.isRegularFile(classpath)) {
            throw new IllegalStateException(classpath + " is missing: build backends/neo4j-harness first");
        }
        try {
            Path log = runDir().resolve("harness.log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx512m",
                    "-Dstasis.harness.exitOnStdinEof=true",
                    "-cp", jar + File.pathSeparator + Files.readString(classpath).trim(),
                    MAIN, uriFile.toString(), runDir().resolve("work").toString()));
            long t0 = System.nanoTime();
            config.out().println("[bench] neo4j: starting neo4j-harness 5.26 in its own JVM (" + dir + ")");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            // held open: the harness exits when it sees end of input, i.e. when this JVM dies
            OutputStream stdin = p.getOutputStream();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly, "neo4j-harness-stop"));
            long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
            while (!Files.exists(uriFile)) {
                if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException("the Neo4j harness exited with " + p.exitValue() + "; see " + log);
                }
                if (System.currentTimeMillis() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the Neo4j harness was not ready in time; see " + log);
                }
            }
            config.out().printf("[bench] neo4j: harness ready in %d ms (pid %d)%n", (System.nanoTime() - t0) / 1_000_000,
                    p.pid());
            stdinHolder = stdin;
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the Neo4j harness", e);
        }
    }

    private @Nullable OutputStream stdinHolder;

    private Path runDir() {
        return java.util.Objects.requireNonNull(runDir);
    }

    @Override
    public String name() {
        return "neo4j";
    }

    @Override
    public String description() {
        return (harness != null ? "Neo4j 5.26.30 (neo4j-harness in its own JVM, -Xmx512m, C1 only, started by the harness)"
                : "Neo4j at " + uri) + ", label prefix " + labelPrefix;
    }

    @Override
    public StateStore store() {
        return store;
    }

    private <T> Mono<List<T>> write(String text, Map<String, Object> params,
            java.util.function.Function<org.neo4j.driver.Record, T> map) {
        return Flux.usingWhen(Mono.fromSupplier(() -> driver.session(ReactiveSession.class)),
                        s -> s.executeWrite(tx -> Flux.from(tx.run(text, params))
                                .concatMap(ReactiveResult::records).map(map)),
                        ReactiveSession::close)
                .collectList();
    }

    @Override
    public Floor floor() {
        String create = "CREATE (:" + floorLabel + " {id: $id, s: 0, state: $state})";
        String claim = "MATCH (n:" + floorLabel + " {id: $id}) WHERE n.s = 0 SET n.s = 1 RETURN n.state AS state";
        return new Floor() {
            @Override
            public String describe() {
                return "CREATE + MATCH … SET … RETURN";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return Neo4jTarget.this.write(create, Map.of("id", id, "state", payload), r -> 1);
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return Neo4jTarget.this.write(claim, Map.of("id", id), r -> r.get("state").asByteArray())
                        .flatMap(l -> l.isEmpty()
                                ? Mono.error(new IllegalStateException("floor: no claimable node " + id))
                                : Mono.just(l.get(0)));
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        return null;
    }

    @Override
    public String storedBytesMethod() {
        return "estimate: mean sealed state size (Neo4j exposes no per-label store size)";
    }

    @Override
    public void close() {
        try (Session s = driver.session()) {
            for (String label : List.of(labelPrefix + "Flow", labelPrefix + "Wait", floorLabel)) {
                s.run("MATCH (n:" + label + ") CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume();
            }
        } catch (RuntimeException e) {
            // best effort: a harness is thrown away anyway
        }
        store.close().block();
        driver.close();
        if (harness != null) {
            harness.destroyForcibly();
            try {
                harness.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try (Stream<Path> files = Files.walk(runDir())) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                // best effort
            }
        }
        stdinHolder = null;
    }
}
