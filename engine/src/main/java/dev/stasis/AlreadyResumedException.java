package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * Another resume of the same key won: each wait is claimed exactly once. A webhook answers 409. A resume that carries the winner's idempotency key receives the winner's result instead of this error.
 */
public class AlreadyResumedException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public AlreadyResumedException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public AlreadyResumedException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
