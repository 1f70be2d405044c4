package dev.stasis.bench;

import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one phase measured: operations, wall time, throughput and latency percentiles (milliseconds), errors, and for
 * engine phases the store calls the engine made.
 *
 * @param name phase name, e.g. {@code engine.suspend}
 * @param ops operations that completed without error
 * @param errors operations that failed
 * @param seconds wall time of the phase
 * @param throughput completed operations per second
 * @param p50 median latency, ms
 * @param p95 95th percentile, ms
 * @param p99 99th percentile, ms
 * @param max maximum, ms
 * @param mean mean, ms
 * @param storeCalls store calls by SPI operation during the phase (engine phases only; empty for floors)
 * @param storeShare share of the summed operation latency spent inside store calls (engine phases only, else -1)
 * @param firstError the first error seen, or null
 */
record PhaseResult(
        String name, long ops, long errors, double seconds, double throughput, double p50, double p95, double p99,
        double max, double mean, Map<String, Long> storeCalls, double storeShare,
        @org.jspecify.annotations.Nullable String firstError) {

    static PhaseResult of(String name, Histogram h, long errors, double seconds, Map<String, Long> calls,
            double storeShare, @org.jspecify.annotations.Nullable String firstError) {
        long ops = h.getTotalCount();
        return new PhaseResult(name, ops, errors, seconds, seconds > 0 ? ops / seconds : 0,
                ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(95)), ms(h.getValueAtPercentile(99)),
                ms(h.getMaxValue()), ops == 0 ? 0 : h.getMean() / 1e6, calls, storeShare, firstError);
    }

    /** @return this result with another throughput (the median over rounds, where latencies cover every round) */
    PhaseResult withThroughput(double opsPerSecond) {
        return new PhaseResult(name, ops, errors, seconds, opsPerSecond, p50, p95, p99, max, mean, storeCalls,
                storeShare, firstError);
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
