package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * No active suspension answers to the presented resume key: the key is unknown, malformed, its flow was cancelled, or the record was removed by cleanup. A webhook answers 404.
 */
public class SuspensionKeyNotFoundException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public SuspensionKeyNotFoundException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public SuspensionKeyNotFoundException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
