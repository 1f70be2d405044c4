package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The store could not be reached or timed out: a transient error, so {@link #isRetryable()} is {@code true}.
 * Nothing was changed by the failed call unless the store reports otherwise; the hub's operations are
 * safe to retry because every state change is a compare-and-set.
 */
public class StorageUnavailableException extends StorageException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong
     */
    public StorageUnavailableException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong
     * @param cause the driver's error
     */
    public StorageUnavailableException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}
