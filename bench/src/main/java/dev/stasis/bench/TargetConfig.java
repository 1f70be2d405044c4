package dev.stasis.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Where the stores are (defaults match the project's test machines; see README).
 *
 * @param pgUrl r2dbc URL of PostgreSQL
 * @param pgPool connections for the engine's store and (separately, the same number) for the floor
 * @param pgWriteConcurrency the store's {@code writeConcurrency} (0: its default)
 * @param pgMaxBatch the store's {@code maxBatch} (0: its default)
 * @param redisUri Redis URI
 * @param mongoUri a MongoDB connection string, or null to start mongo-java-server in this JVM
 * @param neo4jUri a Bolt URI, or null to start the Neo4j harness from backends/neo4j-harness/target
 * @param neo4jHarnessDir where the harness jar and its classpath file are
 * @param workDir scratch directory (filesystem store, Neo4j work dir)
 * @param out where progress and notes go
 */
record TargetConfig(
        String pgUrl, int pgPool, int pgWriteConcurrency, int pgMaxBatch, String redisUri, @Nullable String mongoUri, @Nullable String neo4jUri,
        Path neo4jHarnessDir, Path workDir, PrintStream out) {

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    static @Nullable String envOrNull(String name) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? null : v;
    }

    /** Defaults from the environment: the same variables as the stores' ITs. */
    static TargetConfig fromEnvironment(Path workDir, PrintStream out) {
        String pg = "r2dbc:postgresql://" + env("STASIS_TEST_PG_USER", "postgres") + "@"
                + env("STASIS_TEST_PG_HOST", "127.0.0.1") + ":" + env("STASIS_TEST_PG_PORT", "5432") + "/"
                + env("STASIS_TEST_PG_DATABASE", "test");
        return new TargetConfig(pg, 10, 0, 0, env("STASIS_TEST_REDIS_URI", "redis://127.0.0.1:6379"),
                envOrNull("STASIS_TEST_MONGODB_URI"), envOrNull("NEO4J_URI"),
                Path.of(System.getProperty("stasis.neo4j.harness.dir", "backends/neo4j-harness/target")),
                workDir, out);
    }

    TargetConfig withPg(String url, int pool, int writeConcurrency, int maxBatch) {
        return new TargetConfig(url, pool, writeConcurrency, maxBatch, redisUri, mongoUri, neo4jUri, neo4jHarnessDir, workDir, out);
    }

    TargetConfig withRedis(String uri) {
        return new TargetConfig(pgUrl, pgPool, pgWriteConcurrency, pgMaxBatch, uri, mongoUri, neo4jUri, neo4jHarnessDir, workDir, out);
    }

    TargetConfig withMongo(@Nullable String uri) {
        return new TargetConfig(pgUrl, pgPool, pgWriteConcurrency, pgMaxBatch, redisUri, uri, neo4jUri, neo4jHarnessDir, workDir, out);
    }

    TargetConfig withNeo4j(@Nullable String uri, Path harnessDir) {
        return new TargetConfig(pgUrl, pgPool, pgWriteConcurrency, pgMaxBatch, redisUri, mongoUri, uri, harnessDir, workDir, out);
    }
}
