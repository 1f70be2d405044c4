package dev.stasis;

/**
 * Signalled by {@link FlowContext#await(AwaitInput)} (and the group waits) when the wait's deadline passed and
 * the wait has no default value. The flow may handle it like any other error ({@code onErrorResume}); if it
 * does not, the flow ends {@code FAILED}.
 */
public class AwaitTimeoutException extends StasisException {

    private static final long serialVersionUID = 1L;

    private final String awaitId;

    /**
     * Creates the error.
     *
     * @param awaitId the id of the wait that timed out
     */
    public AwaitTimeoutException(String awaitId) {
        super("wait '" + awaitId + "' passed its deadline without input and has no default value");
        this.awaitId = awaitId;
    }

    /**
     * The id of the wait that timed out.
     *
     * @return the {@link AwaitInput#id()}
     */
    public String awaitId() {
        return awaitId;
    }
}
