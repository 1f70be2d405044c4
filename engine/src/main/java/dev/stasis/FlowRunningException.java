package dev.stasis;

/**
 * The flow is being run by another call (a concurrent start with the same correlation id, or the winning resume
 * that an idempotent duplicate waits for) and did not finish within the hub's wait. Retryable: the same call made
 * again later returns the result.
 */
public class FlowRunningException extends StasisException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message what is running
     */
    public FlowRunningException(String message) {
        super(message);
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}
