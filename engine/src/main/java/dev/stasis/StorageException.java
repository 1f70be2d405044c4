package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * A store operation failed in a way that retrying will not fix (bad configuration, a schema problem, a rejected statement).
 */
public class StorageException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public StorageException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public StorageException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
