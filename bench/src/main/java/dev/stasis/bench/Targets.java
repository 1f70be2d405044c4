package dev.stasis.bench;

import java.util.List;
import java.util.Locale;

/** Creates a {@link StoreTarget} by name. */
final class Targets {

    /** Every store the harness knows, in report order. */
    static final List<String> ALL = List.of("postgres", "redis", "mongodb", "neo4j", "filesystem", "in-memory");

    private Targets() {}

    static StoreTarget open(String name, TargetConfig config) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "postgres", "postgresql", "pg" -> new PostgresTarget(config);
            case "redis" -> new RedisTarget(config);
            case "mongodb", "mongo" -> new MongoTarget(config);
            case "neo4j" -> new Neo4jTarget(config);
            case "filesystem", "fs" -> new FilesystemTarget(config);
            case "in-memory", "memory", "inmemory" -> new InMemoryTarget();
            default -> throw new IllegalArgumentException("unknown store '" + name + "'; one of " + ALL);
        };
    }
}
