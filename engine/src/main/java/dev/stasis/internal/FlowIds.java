package dev.stasis.internal;

import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Time-ordered flow ids: 12 hex digits of epoch milliseconds, then 20 random hex digits. Sorting by id sorts by
 * creation time, which makes the id a natural query cursor. Ids are identifiers, not secrets.
 */
public final class FlowIds {

    private FlowIds() {}

    /**
     * A new id.
     *
     * @param now the creation time
     * @return 32 lowercase hex characters
     */
    public static String next(Instant now) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("%012x%08x%012x", now.toEpochMilli() & 0xFFFF_FFFF_FFFFL, r.nextInt(),
                r.nextLong() & 0xFFFF_FFFF_FFFFL);
    }
}
