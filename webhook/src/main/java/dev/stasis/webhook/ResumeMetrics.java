package dev.stasis.webhook;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the resume route measures: requests by HTTP status, requests in flight, requests shed, and the latency of
 * the last {@value #RESERVOIR} requests (a ring buffer; percentiles by nearest rank over a sorted copy).
 */
final class ResumeMetrics {

    static final int RESERVOIR = 4096;

    private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();
    private final LongAdder total = new LongAdder();
    private final LongAdder shed = new LongAdder();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final long[] latenciesNanos = new long[RESERVOIR];
    private final AtomicLong recorded = new AtomicLong();

    /** Takes an in-flight slot unless {@code max} are taken; a refused request is counted as shed. */
    boolean tryAcquire(int max) {
        while (true) {
            int now = inFlight.get();
            if (now >= max) {
                shed.increment();
                return false;
            }
            if (inFlight.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    void release() {
        inFlight.decrementAndGet();
    }

    void record(int status, long nanos) {
        total.increment();
        byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
        long slot = recorded.getAndIncrement();
        synchronized (latenciesNanos) {
            latenciesNanos[(int) (slot % RESERVOIR)] = nanos;
        }
    }

    long total() {
        return total.sum();
    }

    long shed() {
        return shed.sum();
    }

    int inFlight() {
        return inFlight.get();
    }

    Map<String, Long> byStatus() {
        Map<String, Long> out = new TreeMap<>();
        byStatus.forEach((k, v) -> out.put(String.valueOf(k), v.sum()));
        return out;
    }

    /** Latency percentiles in milliseconds over the reservoir: samples, p50, p95, p99, max. */
    Map<String, Number> latency() {
        long[] copy;
        synchronized (latenciesNanos) {
            int n = (int) Math.min(recorded.get(), RESERVOIR);
            copy = Arrays.copyOf(latenciesNanos, n);
        }
        Arrays.sort(copy);
        Map<String, Number> out = new java.util.LinkedHashMap<>();
        out.put("samples", copy.length);
        out.put("p50", millis(percentile(copy, 50)));
        out.put("p95", millis(percentile(copy, 95)));
        out.put("p99", millis(percentile(copy, 99)));
        out.put("max", millis(copy.length == 0 ? 0 : copy[copy.length - 1]));
        return out;
    }

    /** Nearest-rank percentile of sorted values; 0 when empty. */
    static long percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 1_000.0) / 1_000.0;
    }
}
