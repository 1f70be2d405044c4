package dev.stasis;

import java.util.List;

/**
 * The resume input does not satisfy the wait's JSON schema. Nothing was changed: the flow stays suspended and
 * the key keeps working. A webhook answers 400 with {@link #violations()} as RFC 9457 problem details.
 */
public class InputValidationException extends StasisException {

    private static final long serialVersionUID = 1L;

    private final String awaitId;
    private final List<Violation> violations;

    /**
     * Creates the error.
     *
     * @param awaitId the wait whose schema rejected the input
     * @param violations what is wrong, one entry per failed constraint
     */
    public InputValidationException(String awaitId, List<Violation> violations) {
        super("input for wait '" + awaitId + "' is invalid: " + violations);
        this.awaitId = awaitId;
        this.violations = List.copyOf(violations);
    }

    /**
     * The wait whose schema rejected the input.
     *
     * @return the await id
     */
    public String awaitId() {
        return awaitId;
    }

    /**
     * What is wrong with the input.
     *
     * @return one entry per failed constraint, never empty
     */
    public List<Violation> violations() {
        return violations;
    }

    /**
     * One failed constraint.
     *
     * @param path a JSON Pointer (RFC 6901) to the offending value, for example {@code /amount}; empty for the whole document
     * @param message a readable description of the failure
     */
    public record Violation(String path, String message) {
        @Override
        public String toString() {
            return path + ": " + message;
        }
    }
}
