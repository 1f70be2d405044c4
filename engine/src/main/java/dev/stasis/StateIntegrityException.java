package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * A stored record failed authentication: its sealed bytes were changed, truncated, swapped with another record's, or sealed under a key the key ring does not hold. The record is never executed.
 */
public class StateIntegrityException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public StateIntegrityException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public StateIntegrityException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
