package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Settings of the PostgreSQL server the tests use (environment variables with local defaults) and a side channel: one
 * plain r2dbc connection, not pooled and not going through {@link PostgresStore}, used from the test thread.
 */
final class PgTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private PgTestSupport() {}

    static String host() {
        return env("STASIS_TEST_PG_HOST", "127.0.0.1");
    }

    static int port() {
        return Integer.parseInt(env("STASIS_TEST_PG_PORT", "5432"));
    }

    static String database() {
        return env("STASIS_TEST_PG_DATABASE", "test");
    }

    static String user() {
        return env("STASIS_TEST_PG_USER", "postgres");
    }

    /** The server's URL (trust authentication: no password). */
    static String url() {
        return "r2dbc:postgresql://" + user() + "@" + host() + ":" + port() + "/" + database();
    }

    /** A schema name no other run uses. */
    static String freshSchema() {
        return "stasis_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    /** One plain connection for direct SQL. */
    static final class SideChannel implements AutoCloseable {

        private final Connection connection;

        private SideChannel(Connection connection) {
            this.connection = connection;
        }

        static SideChannel open() {
            return new SideChannel(Mono.from(ConnectionFactories.get(url()).create()).block(WAIT));
        }

        /** Rows of a statement, each mapped on the driver's thread. */
        <T> List<T> query(String sql, Function<Row, T> mapper, Object... params) {
            return Flux.from(bind(sql, params).execute())
                    .concatMap(r -> r.map((row, md) -> mapper.apply(row)))
                    .collectList()
                    .block(WAIT);
        }

        /** Rows as maps of text values (every column cast by the caller as needed). */
        List<Map<String, String>> texts(String sql, Object... params) {
            return query(sql, row -> {
                Map<String, String> m = new java.util.LinkedHashMap<>();
                for (var column : row.getMetadata().getColumnMetadatas()) {
                    m.put(column.getName(), row.get(column.getName(), String.class));
                }
                return m;
            }, params);
        }

        long update(String sql, Object... params) {
            return Flux.from(bind(sql, params).execute())
                    .concatMap(Result::getRowsUpdated)
                    .reduce(0L, Long::sum)
                    .block(WAIT);
        }

        void begin() {
            Mono.from(connection.beginTransaction()).block(WAIT);
        }

        void rollback() {
            Mono.from(connection.rollbackTransaction()).block(WAIT);
        }

        private Statement bind(String sql, Object... params) {
            Statement s = connection.createStatement(sql);
            for (int i = 0; i < params.length; i++) {
                if (params[i] instanceof RecordCodec.Null n) {
                    s.bindNull(i, n.type());
                } else {
                    s.bind(i, params[i]);
                }
            }
            return s;
        }

        byte[] state(String schema, String table, String flowId) {
            List<byte[]> states = query("SELECT state FROM " + schema + "." + table + " WHERE id = $1",
                    row -> row.get("state", byte[].class), flowId);
            assertThat(states).as("state of " + flowId).hasSize(1);
            return states.get(0);
        }

        void replaceState(String schema, String table, String flowId, byte[] state) {
            long n = update("UPDATE " + schema + "." + table + " SET state = $2 WHERE id = $1", flowId,
                    java.nio.ByteBuffer.wrap(state));
            assertThat(n).as("rows updated for " + flowId).isEqualTo(1);
        }

        /** The row (without its state) as json, the state as ISO-8859-1 text, and the rows of the key table. */
        String dump(String schema, String table, String flowId) {
            List<String> rows = query("SELECT (to_jsonb(f) - 'state')::text AS row, f.state FROM " + schema + "." + table
                            + " f WHERE f.id = $1",
                    row -> row.get("row", String.class) + " state="
                            + new String(row.get("state", byte[].class), StandardCharsets.ISO_8859_1),
                    flowId);
            List<String> keys = query("SELECT key_hash || ' -> ' || flow_id AS k FROM " + schema + "." + table
                    + "_keys WHERE flow_id = $1 ORDER BY key_hash", row -> row.get("k", String.class), flowId);
            List<String> all = new ArrayList<>(rows);
            all.add("keys=" + keys);
            return String.join("\n", all);
        }

        void dropSchema(String schema) {
            update("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }

        @Override
        public void close() {
            Mono.from(connection.close()).block(WAIT);
        }
    }
}
