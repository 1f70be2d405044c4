package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The wait's deadline has passed: the key no longer resumes the flow (the timeout sweep fires the wait instead). A subtype of {@link SuspensionKeyNotFoundException} so that a webhook answers an expired key exactly like an unknown one.
 */
public class SuspensionExpiredException extends SuspensionKeyNotFoundException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public SuspensionExpiredException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public SuspensionExpiredException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
