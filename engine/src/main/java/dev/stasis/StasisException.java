package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The unchecked root of every error Stasis signals. Do not extend it in application code.
 *
 * <p>{@link #isRetryable()} splits the errors the way r2dbc does: a retryable error (a store that is
 * briefly unreachable) may succeed when the same call is made again, a non-retryable one will not.
 * Callers can write {@code retryWhen(Retry.backoff(3, ofMillis(100)).filter(StasisException::isRetryable))}.
 */
public class StasisException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates an error with a message.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public StasisException(String message) {
        super(message);
    }

    /**
     * Creates an error with a message and a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public StasisException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether the same call may succeed when made again (for example after a store outage).
     *
     * @return {@code false} unless a subclass says otherwise
     */
    public boolean isRetryable() {
        return false;
    }

    /**
     * A predicate for {@code retryWhen(...filter(StasisException::isRetryable))}.
     *
     * @param error any error
     * @return whether {@code error} is a retryable Stasis error
     */
    public static boolean isRetryable(Throwable error) {
        return error instanceof StasisException se && se.isRetryable();
    }
}
