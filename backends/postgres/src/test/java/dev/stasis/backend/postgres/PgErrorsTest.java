package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import io.r2dbc.postgresql.api.ErrorDetails;
import io.r2dbc.postgresql.api.PostgresqlException;
import io.r2dbc.postgresql.message.backend.Field;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.R2dbcRollbackException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import java.io.IOException;
import java.net.ConnectException;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PgErrorsTest {

    /** What r2dbc-postgresql signals for a server error: an R2DBC exception that carries the error fields. */
    static final class ServerError extends R2dbcDataIntegrityViolationException implements PostgresqlException {
        private static final long serialVersionUID = 1L;
        private final transient ErrorDetails details;

        ServerError(String code, String constraint) {
            super("duplicate key value violates unique constraint \"" + constraint + "\"", code, 0,
                    "INSERT INTO secret_sql_text");
            this.details = new ErrorDetails(List.of(new Field(Field.FieldType.CODE, code),
                    new Field(Field.FieldType.MESSAGE, getMessage()),
                    new Field(Field.FieldType.CONSTRAINT_NAME, constraint),
                    new Field(Field.FieldType.DETAIL, "Key (key_hash)=(abc) already exists.")));
        }

        @Override
        public ErrorDetails getErrorDetails() {
            return details;
        }
    }

    @Test
    @DisplayName("a unique violation becomes DuplicateRecordException naming the field by its constraint, without values or SQL")
    void uniqueViolations() {
        assertThat(PgErrors.map(new ServerError("23505", "flows_pk"), "insert"))
                .isInstanceOf(DuplicateRecordException.class)
                .hasMessage("flow id already stored");
        assertThat(PgErrors.map(new ServerError("23505", "flows_correlation_uq"), "insert"))
                .isInstanceOf(DuplicateRecordException.class)
                .hasMessage("correlation id already stored");
        StorageException keys = PgErrors.map(new ServerError("23505", "flows_keys_pk"), "insert");
        assertThat(keys).isInstanceOf(DuplicateRecordException.class).hasMessage("key hash already stored");
        assertThat(keys.getCause()).isInstanceOf(ServerError.class);
        assertThat(PgErrors.map(new R2dbcDataIntegrityViolationException("dup", "23505"), "insert"))
                .isInstanceOf(DuplicateRecordException.class)
                .hasMessageContaining("unique violation");
    }

    @Test
    @DisplayName("other integrity violations (a CHECK, a foreign key) are plain StorageExceptions")
    void otherIntegrityViolations() {
        StorageException check = PgErrors.map(new ServerError("23514", "flows_keys_hash_ck"), "insert");
        assertThat(check).isExactlyInstanceOf(StorageException.class);
        assertThat(check.isRetryable()).isFalse();
        assertThat(check.getMessage()).contains("23514").doesNotContain("secret_sql_text").doesNotContain("abc");
    }

    @ParameterizedTest(name = "SQLSTATE {0} is transient")
    @ValueSource(strings = {"08006", "08001", "53300", "53200", "57014", "57P01", "57P02", "57P03", "40001", "40P01",
            "55P03", "25006", "58030"})
    void transientStates(String state) {
        StorageException e = PgErrors.map(new R2dbcNonTransientResourceException("server said no", state), "query");
        assertThat(e).isInstanceOf(StorageUnavailableException.class);
        assertThat(e.isRetryable()).isTrue();
        assertThat(e.getMessage()).contains("query").contains(state);
    }

    @ParameterizedTest(name = "SQLSTATE {0} is not transient")
    @ValueSource(strings = {"42P01", "42601", "42501", "22P02", "XX000", "0A000", "23503"})
    void permanentStates(String state) {
        StorageException e = PgErrors.map(new R2dbcNonTransientResourceException("server said no", state), "query");
        assertThat(e).isExactlyInstanceOf(StorageException.class);
        assertThat(e.isRetryable()).isFalse();
    }

    @Test
    @DisplayName("driver connection errors, pool timeouts, I/O errors and timeouts are transient")
    void driverSideTransients() {
        assertThat(PgErrors.map(new R2dbcNonTransientResourceException("Connection closed"), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new R2dbcNonTransientResourceException("Cannot connect to 127.0.0.1:1",
                new ConnectException("Connection refused")), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new R2dbcTimeoutException("Connection acquisition timed out after 10ms"), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new R2dbcTransientResourceException("request queue full"), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new R2dbcRollbackException("could not serialize", "40001"), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new IllegalStateException("wrapped", new IOException("reset by peer")), "insert"))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(PgErrors.map(new TimeoutException("no answer within 32000 ms"), "insert"))
                .isInstanceOf(StorageUnavailableException.class)
                .hasMessageContaining("no answer within 32000 ms");
    }

    @Test
    @DisplayName("grammar, permission and programming errors are not transient")
    void permanentErrors() {
        assertThat(PgErrors.map(new R2dbcBadGrammarException("syntax error", "42601"), "query"))
                .isExactlyInstanceOf(StorageException.class);
        assertThat(PgErrors.map(new R2dbcPermissionDeniedException("permission denied", "42501"), "provision"))
                .isExactlyInstanceOf(StorageException.class);
        assertThat(PgErrors.map(new IllegalArgumentException("Cannot encode parameter"), "insert"))
                .isExactlyInstanceOf(StorageException.class);
    }

    @Test
    @DisplayName("an exception that already is a StorageException passes unchanged")
    void passThrough() {
        StorageException mine = new StorageUnavailableException("already mapped");
        assertThat(PgErrors.map(mine, "x")).isSameAs(mine);
        DuplicateRecordException dup = new DuplicateRecordException("dup");
        assertThat(PgErrors.map(dup, "x")).isSameAs(dup);
    }
}
