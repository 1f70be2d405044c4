package dev.stasis.backend.neo4j;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import java.io.IOException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.neo4j.driver.exceptions.ClientException;
import org.neo4j.driver.exceptions.DiscoveryException;
import org.neo4j.driver.exceptions.Neo4jException;
import org.neo4j.driver.exceptions.RetryableException;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;

/**
 * The one place where driver errors become Stasis errors.
 *
 * <ul>
 *   <li>{@link RetryableException} (service unavailable, session expired, transient errors such as deadlocks or a
 *       leader switch, expired authorization), {@link DiscoveryException} (no routing table), I/O errors and
 *       timeouts: {@link StorageUnavailableException}. They reach the caller only after the driver's managed
 *       transaction gave up retrying them.</li>
 *   <li>A uniqueness constraint violation ({@value #CONSTRAINT_VIOLATION}):
 *       {@link DuplicateRecordException} naming the field, never its value.</li>
 *   <li>Anything else (syntax, security, missing database, a node that cannot be read back):
 *       {@link StorageException}.</li>
 * </ul>
 */
final class Neo4jErrors {

    /** The status code of a uniqueness constraint violation. */
    static final String CONSTRAINT_VIOLATION = "Neo.ClientError.Schema.ConstraintValidationFailed";

    /**
     * Status codes a schema statement gets when an instance provisioning at the same moment created the same rule
     * first: {@code CREATE … IF NOT EXISTS} checks for the rule before it takes the schema lock, so two concurrent
     * creations can both pass the check and the later one fails at commit.
     */
    private static final java.util.Set<String> SCHEMA_RULE_RACE = java.util.Set.of(
            "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
            "Neo.ClientError.Schema.IndexAlreadyExists",
            "Neo.ClientError.Schema.ConstraintAlreadyExists",
            "Neo.ClientError.Schema.IndexWithNameAlreadyExists",
            "Neo.ClientError.Schema.ConstraintWithNameAlreadyExists");

    private static final Pattern PROPERTY = Pattern.compile("property `([^`]+)`");

    private Neo4jErrors() {}

    /**
     * Maps an error of one store operation.
     *
     * @param operation what the store was doing, for the message
     * @param error the error
     * @return the Stasis error (the error itself when it already is a {@link StorageException})
     */
    static StorageException map(String operation, Throwable error) {
        Throwable e = Exceptions.unwrap(error);
        if (e instanceof StorageException se) {
            return se;
        }
        if (isConstraintViolation(e)) {
            return new DuplicateRecordException(duplicateField(e.getMessage()) + " already stored", e);
        }
        if (isTransient(e)) {
            return new StorageUnavailableException("neo4j unavailable during " + operation + ": " + describe(e), e);
        }
        return new StorageException("neo4j " + operation + " failed: " + describe(e), e);
    }

    /**
     * Whether the error is a uniqueness constraint violation.
     *
     * @param e the error
     * @return whether it is one
     */
    static boolean isConstraintViolation(Throwable e) {
        return e instanceof ClientException ce && CONSTRAINT_VIOLATION.equals(ce.code());
    }

    /**
     * Whether a schema statement lost a race with an equivalent statement of another instance. Running the same
     * {@code IF NOT EXISTS} statement again then finds the rule and does nothing (or, if a different rule holds the
     * name, fails again with a real error).
     *
     * @param error the error, possibly wrapped
     * @return whether it is such a race
     */
    static boolean isSchemaRuleRace(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClientException ce && ce.code() != null && SCHEMA_RULE_RACE.contains(ce.code())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether retrying later may succeed.
     *
     * @param e the error
     * @return whether it is transient
     */
    static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RetryableException || t instanceof DiscoveryException || t instanceof IOException
                    || t instanceof TimeoutException) {
                return true;
            }
            if (t instanceof Neo4jException) {
                // a classified server error decides on its own; causes are only consulted for wrappers
                return false;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Which unique field a constraint message names.
     *
     * @param message the server's message, e.g. {@code Node(3) already exists with label `Wait` and property
     *     `keyHash` = '…'}
     * @return "flow id", "correlation id", "key hash" or "a unique field"
     */
    static String duplicateField(@Nullable String message) {
        if (message != null) {
            Matcher m = PROPERTY.matcher(message);
            if (m.find()) {
                switch (m.group(1)) {
                    case "id":
                        return "flow id";
                    case "correlationId":
                        return "correlation id";
                    case "keyHash":
                        return "key hash";
                    default:
                        break;
                }
            }
        }
        return "a unique field";
    }

    private static String describe(Throwable e) {
        String code = e instanceof Neo4jException ne && ne.code() != null ? ne.code() + " " : "";
        return code + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
