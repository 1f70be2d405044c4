package dev.stasis.tck;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A clock that tests move by hand (no sleeping). Thread-safe. */
public final class MutableClock extends Clock {

    private final AtomicReference<Instant> now;

    /**
     * Creates a clock standing at {@code start}.
     *
     * @param start the initial instant
     */
    public MutableClock(Instant start) {
        this.now = new AtomicReference<>(start);
    }

    /**
     * A clock standing at the real current time, truncated to milliseconds (what stores keep).
     *
     * @return the clock
     */
    public static MutableClock atRealNow() {
        return new MutableClock(Instant.ofEpochMilli(System.currentTimeMillis()));
    }

    /**
     * Moves the clock forward.
     *
     * @param d how far
     * @return the new instant
     */
    public Instant advance(Duration d) {
        return now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now.get();
    }
}
