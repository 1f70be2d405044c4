package dev.stasis;

import dev.stasis.internal.SuspendSignal;

/**
 * Recognises the signal a wait uses to unwind a flow's pipeline when it suspends. Flows that recover from errors
 * broadly should let it pass:
 *
 * <pre>{@code
 * .onErrorResume(e -> !Suspension.isSuspension(e), e -> Mono.just(fallback))
 * }</pre>
 *
 * A flow that swallows it anyway is still recorded as suspended, and steps called after the signal do not run.
 */
public final class Suspension {

    private Suspension() {}

    /**
     * Whether an error is the suspension signal (or wraps it).
     *
     * @param error any error
     * @return {@code true} for the suspension signal
     */
    public static boolean isSuspension(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SuspendSignal) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
