package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * A replay diverged from the flow's journal: the flow function called a different step or wait than the one recorded, or a recorded value no longer fits the requested type. The flow is failed rather than continued from a corrupted position.
 */
public class NonDeterministicFlowException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public NonDeterministicFlowException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public NonDeterministicFlowException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
