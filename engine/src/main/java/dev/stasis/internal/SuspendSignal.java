package dev.stasis.internal;

/**
 * The stackless error an unresolved wait emits to unwind the flow's pipeline. The engine catches it at the top;
 * flows that handle errors broadly should let it pass ({@link dev.stasis.Suspension#isSuspension(Throwable)}). Even
 * when a flow swallows it, the run is recorded as suspended.
 */
public final class SuspendSignal extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the signal: no stack trace, no suppression (safe to share). */
    public SuspendSignal() {
        super("flow suspended at a wait (this is a signal, not a failure)", null, false, false);
    }
}
