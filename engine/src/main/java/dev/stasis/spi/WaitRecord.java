package dev.stasis.spi;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The plain index entry of one wait: the SHA-256 of its resume key (never the key), its await id, its deadline
 * and its status. Stores index {@link #keyHash()} for {@link StateStore#findByKeyHash} and {@link #awaitId()} for
 * queries. The authoritative copy lives inside the sealed state; the hub cross-checks the two.
 *
 * @param keyHash lowercase hex SHA-256 of the resume key (64 characters)
 * @param awaitId the wait's await id
 * @param deadline when the wait times out, or {@code null}
 * @param status the wait's status
 */
public record WaitRecord(String keyHash, String awaitId, @Nullable Instant deadline, Status status) {

    /**
     * Validates.
     *
     * @param keyHash key hash
     * @param awaitId await id
     * @param deadline deadline
     * @param status status
     */
    public WaitRecord {
        Objects.requireNonNull(keyHash, "keyHash");
        Objects.requireNonNull(awaitId, "awaitId");
        Objects.requireNonNull(status, "status");
    }

    /** The status of one wait. */
    public enum Status {
        /** Open: its key resumes the flow. */
        PENDING,
        /** Its input arrived (claimed exactly once). */
        RESOLVED,
        /** Its deadline passed and it was fired. */
        TIMED_OUT,
        /** Closed without input: its group was decided by other waits, or the flow was cancelled. */
        CLOSED
    }
}
