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
        // by hand, not String.format("%012x%08x%012x", ...): the same 32 characters at a fraction of the cost
        char[] id = new char[32];
        hex(id, 0, 12, now.toEpochMilli());
        hex(id, 12, 8, r.nextInt());
        hex(id, 20, 12, r.nextLong());
        return new String(id);
    }

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    /** Writes the low {@code 4 * width} bits of {@code value} as {@code width} hex digits at {@code from}. */
    private static void hex(char[] out, int from, int width, long value) {
        for (int i = from + width - 1; i >= from; i--) {
            out[i] = DIGITS[(int) (value & 0xF)];
            value >>>= 4;
        }
    }
}
