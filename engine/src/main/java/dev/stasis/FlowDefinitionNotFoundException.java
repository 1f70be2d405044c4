package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The flow name and version of a stored record is not registered with this hub. The flow stays suspended; register that version (or an upcaster) and resume again.
 */
public class FlowDefinitionNotFoundException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     */
    public FlowDefinitionNotFoundException(String message) {
        super(message);
    }

    /**
     * Creates the error with a cause.
     *
     * @param message what went wrong; never contains a resume key or plaintext state
     * @param cause the underlying error
     */
    public FlowDefinitionNotFoundException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
