package dev.stasis;

import reactor.core.publisher.Mono;

/**
 * The body of a flow: plain Reactor code that routes its side effects through {@link FlowContext#step} and its
 * waits through {@link FlowContext#await}. It runs again from the top on every resume (journaled replay), so
 * everything outside steps must be deterministic.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface FlowFunction<I, O> {

    /**
     * Builds the flow's pipeline for one run.
     *
     * @param ctx the run's context: steps, waits, identity
     * @param input the flow's input (the same value on every replay)
     * @return the output; completing empty is a completed flow with no output
     */
    Mono<O> apply(FlowContext ctx, I input);
}
