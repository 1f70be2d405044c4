package dev.stasis.bench;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs {@code n} operations with at most {@code concurrency} in flight (a closed loop: a new one starts when one
 * finishes), records each one's latency from subscription to completion in an HdrHistogram (nanoseconds, 3
 * significant digits), and prints a progress line every few seconds.
 */
final class PhaseRunner {

    private static final long HIGHEST = TimeUnit.MINUTES.toNanos(10);

    private final PrintStream out;
    private final long progressMillis;

    PhaseRunner(PrintStream out, long progressMillis) {
        this.out = out;
        this.progressMillis = progressMillis;
    }

    /** The raw outcome of a run: the histogram, the errors and the wall time. */
    record Raw(Histogram histogram, long errors, double seconds, @org.jspecify.annotations.Nullable String firstError) {

        /** @return completed operations per second of wall time (0 for a phase that took no time) */
        double throughput() {
            return seconds > 0 ? histogram.getTotalCount() / seconds : 0;
        }
    }

    Raw run(String label, long n, int concurrency, LongFunction<Mono<?>> op) {
        Recorder recorder = new Recorder(HIGHEST, 3);
        Histogram total = new Histogram(HIGHEST, 3);
        AtomicLong done = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        long t0 = System.nanoTime();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-progress");
            t.setDaemon(true);
            return t;
        });
        long[] last = {t0, 0};
        ticker.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            long d = done.get();
            Histogram interval = recorder.getIntervalHistogram();
            synchronized (total) {
                total.add(interval);
            }
            double rate = (d - last[1]) / ((now - last[0]) / 1e9);
            last[0] = now;
            last[1] = d;
            out.printf(Locale.ROOT, "[bench] %-22s %,d/%,d  %,.0f ops/s  p50 %.2f ms  p99 %.2f ms  errors %d%n", label, d, n,
                    rate, interval.getValueAtPercentile(50) / 1e6, interval.getValueAtPercentile(99) / 1e6,
                    errors.get());
        }, progressMillis, progressMillis, TimeUnit.MILLISECONDS);
        try {
            Flux.range(0, Math.toIntExact(n))
                    .flatMap(i -> Mono.defer(() -> {
                        long s = System.nanoTime();
                        return op.apply(i).cast(Object.class)
                                .doOnSuccess(x -> {
                                    recorder.recordValue(Math.min(HIGHEST, System.nanoTime() - s));
                                    done.incrementAndGet();
                                })
                                .onErrorResume(e -> {
                                    errors.incrementAndGet();
                                    done.incrementAndGet();
                                    firstError.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
                                    return Mono.empty();
                                });
                    }), concurrency, 1)
                    .blockLast();
        } finally {
            ticker.shutdownNow();
            try {
                ticker.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        synchronized (total) {
            total.add(recorder.getIntervalHistogram());
        }
        return new Raw(total, errors.get(), seconds, firstError.get());
    }

    PhaseResult result(String name, Raw raw, Map<String, Long> calls, double storeShare) {
        return PhaseResult.of(name, raw.histogram(), raw.errors(), raw.seconds(), calls, storeShare, raw.firstError());
    }
}
