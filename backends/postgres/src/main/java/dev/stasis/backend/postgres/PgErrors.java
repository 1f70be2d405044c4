package dev.stasis.backend.postgres;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import io.r2dbc.postgresql.api.PostgresqlException;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTransientException;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;

/**
 * The one place where driver and pool errors become the SPI's exceptions:
 * <ul>
 *   <li>SQLSTATE {@code 23505} (unique violation) → {@link DuplicateRecordException}, naming the field by the
 *       violated constraint (never its value);</li>
 *   <li>transient → {@link StorageUnavailableException}: any {@link R2dbcTransientException} (pool acquire timeouts,
 *       serialization failures, the driver's request-queue overflow); the driver's connection errors, which carry no
 *       SQLSTATE ({@link R2dbcNonTransientResourceException}: "Cannot connect", "Connection closed"); an
 *       {@link IOException} or {@link TimeoutException} anywhere in the cause chain; and the server's transient
 *       SQLSTATEs: class 08 (connection), class 53 (insufficient resources, e.g. too many connections), 57014
 *       (statement timeout), 57P01–57P03 (shutdown, crash, not accepting connections yet), 40001/40P01
 *       (serialization failure, deadlock), 55P03 (lock timeout), 25006 (read-only transaction: a standby after
 *       failover), 58030 (I/O error);</li>
 *   <li>anything else → {@link StorageException}.</li>
 * </ul>
 */
final class PgErrors {

    private static final Set<String> TRANSIENT_STATES =
            Set.of("57014", "57P01", "57P02", "57P03", "40001", "40P01", "55P03", "25006", "58030");
    private static final Set<String> TRANSIENT_CLASSES = Set.of("08", "53");

    private PgErrors() {}

    /**
     * Maps an error.
     *
     * @param error what the driver, the pool or a timeout signalled
     * @param operation the store operation, for the message
     * @return the SPI exception (the error itself when it already is one)
     */
    static StorageException map(Throwable error, String operation) {
        Throwable e = Exceptions.unwrap(error);
        if (e instanceof StorageException se) {
            return se;
        }
        String state = sqlState(e);
        if ("23505".equals(state)) {
            return new DuplicateRecordException(duplicateMessage(e), e);
        }
        if (isTransient(e, state)) {
            return new StorageUnavailableException(
                    "postgres " + operation + " failed, the store is unavailable: " + describe(e), e);
        }
        return new StorageException("postgres " + operation + " failed: " + describe(e), e);
    }

    static boolean isTransient(Throwable e, @Nullable String state) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcTransientException) {
                return true;
            }
        }
        if (state != null) {
            return TRANSIENT_STATES.contains(state)
                    || (state.length() == 5 && TRANSIENT_CLASSES.contains(state.substring(0, 2)));
        }
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcNonTransientResourceException || t instanceof IOException
                    || t instanceof TimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** The SQLSTATE of the first R2DBC exception in the chain that has one. */
    static @Nullable String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcException r && r.getSqlState() != null && !r.getSqlState().isEmpty()) {
                return r.getSqlState();
            }
        }
        return null;
    }

    private static String duplicateMessage(Throwable e) {
        String constraint = e instanceof PostgresqlException pe
                ? pe.getErrorDetails().getConstraintName().orElse("")
                : "";
        if (constraint.endsWith("_correlation_uq")) {
            return "correlation id already stored";
        }
        if (constraint.endsWith("_keys_pk")) {
            return "key hash already stored";
        }
        if (constraint.endsWith("_pk")) {
            return "flow id already stored";
        }
        return "duplicate record (" + (constraint.isEmpty() ? "unique violation" : constraint) + ")";
    }

    /** Class and message, without the SQL or the server's DETAIL (which may quote values). */
    private static String describe(Throwable e) {
        String state = e instanceof R2dbcException r && r.getSqlState() != null ? " [" + r.getSqlState() + "]" : "";
        return e.getClass().getSimpleName() + state + ": " + e.getMessage();
    }
}
