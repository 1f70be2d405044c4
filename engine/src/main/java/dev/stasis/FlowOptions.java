package dev.stasis;

/**
 * Per-flow execution options.
 *
 * @param checkpointSteps write the journal to the store after every completed step (one compare-and-set per step).
 *     Without it the journal is written when the flow suspends or ends, so a crash mid-run re-runs the steps since
 *     the last wait. With it, a crash re-runs at most the step that was executing. Steps are therefore
 *     at-least-once either way: make side effects idempotent (for example keyed by flow id and step name).
 */
public record FlowOptions(boolean checkpointSteps) {

    /**
     * The defaults: journal written at each suspension and at the end.
     *
     * @return the defaults
     */
    public static FlowOptions defaults() {
        return new FlowOptions(false);
    }

    /**
     * Checkpoint after every step.
     *
     * @return the options
     */
    public static FlowOptions checkpointEveryStep() {
        return new FlowOptions(true);
    }
}
