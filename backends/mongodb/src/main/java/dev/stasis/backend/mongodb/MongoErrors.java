package dev.stasis.backend.mongodb;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoBulkWriteException;
import com.mongodb.MongoClientException;
import com.mongodb.MongoConnectionPoolClearedException;
import com.mongodb.MongoException;
import com.mongodb.MongoExecutionTimeoutException;
import com.mongodb.MongoInterruptedException;
import com.mongodb.MongoNodeIsRecoveringException;
import com.mongodb.MongoNotPrimaryException;
import com.mongodb.MongoOperationTimeoutException;
import com.mongodb.MongoServerUnavailableException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.MongoWriteConcernException;
import com.mongodb.MongoWriteException;
import com.mongodb.bulk.BulkWriteError;
import dev.stasis.StasisException;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The one place where driver errors become Stasis errors:
 *
 * <ul>
 *   <li>duplicate key (code 11000 and its aliases) → {@link DuplicateRecordException}, naming the unique field;</li>
 *   <li>no server, timeouts, sockets, failover (not primary, node recovering, shutdown), a cleared pool, a
 *       write concern that was not satisfied, and server codes the driver itself treats as retryable →
 *       {@link StorageUnavailableException};</li>
 *   <li>anything else (authentication, bad configuration, a rejected command, a malformed stored document) →
 *       {@link StorageException}.</li>
 * </ul>
 *
 * Messages never carry the driver's text for duplicates (it quotes the conflicting value).
 */
final class MongoErrors {

    /** Server error codes that clear up by themselves (network, elections, shutdown, time limits). */
    private static final Set<Integer> TRANSIENT_CODES = Set.of(
            6, // HostUnreachable
            7, // HostNotFound
            50, // MaxTimeMSExpired
            64, // WriteConcernFailed
            89, // NetworkTimeout
            91, // ShutdownInProgress
            134, // ReadConcernMajorityNotAvailableYet
            189, // PrimarySteppedDown
            262, // ExceededTimeLimit
            9001, // SocketException
            10107, // NotWritablePrimary
            11600, // InterruptedAtShutdown
            11602, // InterruptedDueToReplStateChange
            13435, // NotPrimaryNoSecondaryOk
            13436); // NotPrimaryOrSecondary

    private static final Pattern INDEX_NAME = Pattern.compile("index: ([^\\s]+)");

    private MongoErrors() {}

    /**
     * Maps any error of a store operation. Stasis errors pass through unchanged.
     *
     * @param operation what the store was doing ("insert", "compare-and-set", …), for the message
     * @param error the driver's (or the decoder's) error
     * @return the error to signal
     */
    static StorageException map(String operation, Throwable error) {
        if (error instanceof StorageException se) {
            return se;
        }
        if (error instanceof StasisException other) {
            return new StorageException(operation + " failed: " + other.getMessage(), other);
        }
        if (error instanceof MongoException me) {
            if (isDuplicateKey(me)) {
                return new DuplicateRecordException(duplicateMessage(me), me);
            }
            if (isTransient(me)) {
                return new StorageUnavailableException(
                        "MongoDB unavailable during " + operation + ": " + describe(me), me);
            }
            return new StorageException("MongoDB " + operation + " failed: " + describe(me), me);
        }
        return new StorageException("MongoDB " + operation + " failed: " + error, error);
    }

    /**
     * Whether an error is a duplicate-key violation of a unique index.
     *
     * @param e the driver's error
     * @return whether it is
     */
    static boolean isDuplicateKey(MongoException e) {
        if (e instanceof MongoBulkWriteException bulk) {
            for (BulkWriteError w : bulk.getWriteErrors()) {
                if (ErrorCategory.fromErrorCode(w.getCode()) == ErrorCategory.DUPLICATE_KEY) {
                    return true;
                }
            }
            return false;
        }
        return ErrorCategory.fromErrorCode(e.getCode()) == ErrorCategory.DUPLICATE_KEY;
    }

    /**
     * Whether the same call may succeed later.
     *
     * @param e the driver's error
     * @return whether it is transient
     */
    static boolean isTransient(MongoException e) {
        if (e instanceof MongoTimeoutException
                || e instanceof MongoSocketException
                || e instanceof MongoNotPrimaryException
                || e instanceof MongoNodeIsRecoveringException
                || e instanceof MongoConnectionPoolClearedException
                || e instanceof MongoServerUnavailableException
                || e instanceof MongoExecutionTimeoutException
                || e instanceof MongoOperationTimeoutException
                || e instanceof MongoInterruptedException
                || e instanceof MongoWriteConcernException) {
            return true;
        }
        if (e.hasErrorLabel("RetryableWriteError")
                || e.hasErrorLabel(MongoException.TRANSIENT_TRANSACTION_ERROR_LABEL)) {
            return true;
        }
        if (TRANSIENT_CODES.contains(e.getCode())) {
            return true;
        }
        if (e instanceof MongoWriteException we && TRANSIENT_CODES.contains(we.getError().getCode())) {
            return true;
        }
        String message = e.getMessage();
        return e instanceof MongoClientException
                && message != null
                && message.toLowerCase(Locale.ROOT).contains("connection");
    }

    private static String describe(MongoException e) {
        return e.getClass().getSimpleName() + " (code " + e.getCode() + "): " + e.getMessage();
    }

    private static String duplicateMessage(MongoException e) {
        String field = conflictingField(e.getMessage());
        return field == null ? "a unique field is already stored" : field + " already stored";
    }

    /**
     * Names the unique field from the index named in a duplicate-key message ({@code ... index: <name> dup key: ...}),
     * without quoting the value.
     *
     * @param message the driver's message
     * @return "flow id", "key hash", "correlation id", or {@code null} when the message names no index of ours
     */
    static @Nullable String conflictingField(@Nullable String message) {
        if (message == null) {
            return null;
        }
        Matcher m = INDEX_NAME.matcher(message);
        if (!m.find()) {
            return null;
        }
        return switch (m.group(1)) {
            case "_id_" -> "flow id";
            case MongoIndexes.KEY_HASHES_UNIQUE -> "key hash";
            case MongoIndexes.CORRELATION_ID_UNIQUE -> "correlation id";
            default -> null;
        };
    }
}
