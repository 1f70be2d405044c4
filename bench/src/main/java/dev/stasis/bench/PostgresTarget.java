package dev.stasis.bench;

import dev.stasis.backend.postgres.PostgresStore;
import dev.stasis.spi.StateStore;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link PostgresStore} in a fresh schema. Floor, in a table of the same schema on its own pool of the same size:
 * {@code INSERT} (suspend) and one {@code UPDATE … WHERE id = $1 AND status = 0 … RETURNING state} (resume, the
 * single-statement claim). Side channel: {@code pg_total_relation_size} of the store's two tables (heap, TOAST and
 * indexes).
 */
final class PostgresTarget implements StoreTarget {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final String schema = "stasis_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private final PostgresStore store;
    private final ConnectionPool pool;
    private final String url;
    private final int poolSize;
    private final String serverVersion;
    private final String tuning;

    PostgresTarget(TargetConfig config) {
        this.url = config.pgUrl();
        this.poolSize = config.pgPool();
        PostgresStore.Builder builder = PostgresStore.builder(url).schema(schema).maxPoolSize(poolSize);
        if (config.pgWriteConcurrency() > 0) {
            builder.writeConcurrency(config.pgWriteConcurrency());
        }
        if (config.pgMaxBatch() > 0) {
            builder.maxBatch(config.pgMaxBatch());
        }
        this.store = builder.build();
        this.tuning = (config.pgWriteConcurrency() > 0 ? ", write concurrency " + config.pgWriteConcurrency() : "")
                + (config.pgMaxBatch() > 0 ? ", max batch " + config.pgMaxBatch() : "");
        store.provision().block(WAIT);
        this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(ConnectionFactories.get(url))
                .name("bench-floor").initialSize(poolSize).maxSize(poolSize).build());
        sql("CREATE TABLE \"" + schema + "\".floor (id text PRIMARY KEY, status smallint NOT NULL,"
                + " state bytea NOT NULL)", s -> s).block(WAIT);
        this.serverVersion = withConnection(c -> Flux.from(c.createStatement("SHOW server_version").execute())
                .concatMap(r -> r.map((row, md) -> String.valueOf(row.get(0, String.class)))).next())
                .block(WAIT);
    }

    private <T> Mono<T> withConnection(Function<Connection, Mono<T>> work) {
        return Mono.usingWhen(pool.create(), work, Connection::close, (c, e) -> c.close(), Connection::close);
    }

    private Mono<Long> sql(String text, Function<Statement, Statement> binder) {
        return withConnection(c -> Flux.from(binder.apply(c.createStatement(text)).execute())
                .concatMap(Result::getRowsUpdated).reduce(0L, Long::sum));
    }

    @Override
    public String name() {
        return "postgres";
    }

    @Override
    public String description() {
        return "PostgreSQL " + serverVersion + " at " + url.replaceAll("//[^@/]*@", "//") + ", schema " + schema
                + ", pool " + poolSize + " (engine) + " + poolSize + " (floor)" + tuning;
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public Floor floor() {
        String insert = "INSERT INTO \"" + schema + "\".floor (id, status, state) VALUES ($1, 0, $2)";
        String claim = "UPDATE \"" + schema + "\".floor SET status = 1 WHERE id = $1 AND status = 0 RETURNING state";
        return new Floor() {
            @Override
            public String describe() {
                return "INSERT + UPDATE … RETURNING (single-statement claim)";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return sql(insert, s -> s.bind(0, id).bind(1, ByteBuffer.wrap(payload)));
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return withConnection(c -> Flux.from(c.createStatement(claim).bind(0, id).execute())
                        .concatMap(r -> r.map((row, md) -> row.get("state", byte[].class)))
                        .next())
                        .switchIfEmpty(Mono.error(() -> new IllegalStateException("floor: no claimable row " + id)));
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        String q = "SELECT pg_total_relation_size('\"" + schema + "\".flows') + pg_total_relation_size('\"" + schema
                + "\".flows_keys')";
        return withConnection(c -> Flux.from(c.createStatement(q).execute())
                .concatMap(r -> r.map((row, md) -> row.get(0, Long.class))).next())
                .block(WAIT);
    }

    @Override
    public String storedBytesMethod() {
        return "measured: pg_total_relation_size of the flows and keys tables (heap + TOAST + indexes), delta over the"
                + " suspend phase";
    }

    @Override
    public void close() {
        try {
            sql("DROP SCHEMA \"" + schema + "\" CASCADE", s -> s).block(WAIT);
        } finally {
            store.close().block(WAIT);
            pool.dispose();
        }
    }
}
