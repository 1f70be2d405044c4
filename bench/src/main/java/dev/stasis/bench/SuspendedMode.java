package dev.stasis.bench;

import dev.stasis.CleanupCriteria;
import dev.stasis.CleanupReport;
import dev.stasis.FlowStatus;
import dev.stasis.PersistenceHub;
import dev.stasis.QueryCriteria;
import dev.stasis.StartOptions;
import dev.stasis.SuspensionInfo;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;
import reactor.core.publisher.Mono;

/**
 * {@code --suspended N}: fills the store with N suspended flows in batches (with progress and a heap sample after
 * each batch), stores a number of finished flows whose retention has already elapsed, then measures on the full
 * store: resume latency (a sample of the suspended flows), query by await id (pages of 100, one after the other) and
 * the cleanup of the expired flows. The harness keeps only the keys of the sample, so the heap it reports is the
 * engine's (and, for the in-memory store, the store's).
 */
final class SuspendedMode {

    /**
     * What to run.
     *
     * @param suspended flows to fill
     * @param batch flows per fill batch (one heap sample per batch)
     * @param expired finished flows with elapsed retention, for the cleanup
     * @param resumeSample how many of the suspended flows to resume
     * @param queryPages pages of 100 to query by await id
     * @param concurrency operations in flight
     * @param stateBytes payload bytes per flow
     * @param gzipLevel engine gzip level
     * @param cipher engine cipher
     * @param progressMillis progress interval
     * @param command the command line
     */
    record Options(long suspended, int batch, int expired, int resumeSample, int queryPages, int concurrency,
            int stateBytes, int gzipLevel, String cipher, long progressMillis, String command) {}

    private final PrintStream out;

    SuspendedMode(PrintStream out) {
        this.out = out;
    }

    SuspendedResult run(StoreTarget target, Options o) {
        String started = Instant.now().toString();
        out.printf("[bench] %s: %s%n", target.name(), target.description());
        PersistenceHub hub = PersistenceHub.builder(target.store(), LoadHarness.benchKeyRing())
                .register(BenchFlows.approval())
                .compressionLevel(o.gzipLevel())
                .cipher(LoadHarness.cipher(o.cipher()))
                .build();
        // finished flows from this hub are retained for 1 ms: by the time the cleanup runs they are all expired
        PersistenceHub expiring = PersistenceHub.builder(target.store(), LoadHarness.benchKeyRing())
                .register(BenchFlows.instant())
                .compressionLevel(o.gzipLevel())
                .cipher(LoadHarness.cipher(o.cipher()))
                .retention(Duration.ofMillis(1))
                .build();
        hub.provision().block();
        BenchFlows.Order[] orders = new BenchFlows.Order[256];
        for (int i = 0; i < orders.length; i++) {
            orders[i] = BenchFlows.order(i, o.stateBytes());
        }
        PhaseRunner runner = new PhaseRunner(out, o.progressMillis());
        List<SuspendedResult.HeapSample> heap = new ArrayList<>();
        heap.add(new SuspendedResult.HeapSample("start", 0, Heap.usedAfterGc()));
        Long storedBefore = target.storedBytes();

        long every = Math.max(1, o.suspended() / Math.max(1, o.resumeSample()));
        int sampleSize = (int) Math.min(o.resumeSample(), o.suspended());
        String[] sample = new String[sampleSize];
        Histogram fillHist = new Histogram(Duration.ofMinutes(10).toNanos(), 3);
        long fillErrors = 0;
        String firstError = null;
        long t0 = System.nanoTime();
        for (long done = 0; done < o.suspended(); ) {
            long base = done;
            int n = (int) Math.min(o.batch(), o.suspended() - done);
            PhaseRunner.Raw raw = runner.run("fill", n, o.concurrency(), j -> {
                long i = base + j;
                return LoadHarness.suspend(hub, BenchFlows.approval(), orders, i, null).doOnNext(key -> {
                    if (i % every == 0 && i / every < sampleSize) {
                        sample[(int) (i / every)] = (String) key;
                    }
                });
            });
            fillHist.add(raw.histogram());
            fillErrors += raw.errors();
            if (firstError == null) firstError = raw.firstError();
            done += n;
            long used = Heap.usedAfterGc();
            heap.add(new SuspendedResult.HeapSample("fill", done, used));
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "[bench] fill %,d/%,d suspended  %,.0f flows/s overall  heap after GC %s%n", done,
                    o.suspended(), done / secs, Heap.mib(used));
        }
        double fillSeconds = (System.nanoTime() - t0) / 1e9;
        PhaseResult fill = PhaseResult.of("fill", fillHist, fillErrors, fillSeconds, Map.of(), -1, firstError);
        Long storedAfter = target.storedBytes();

        out.printf("[bench] storing %,d finished flows with elapsed retention (for the cleanup)%n", o.expired());
        String tag = UUID.randomUUID().toString().substring(0, 8);
        PhaseRunner.Raw exp = runner.run("expired.fill", o.expired(), o.concurrency(), i -> expiring.start(
                BenchFlows.instant(), orders[(int) (i % orders.length)],
                StartOptions.correlationId("bench-exp-" + tag + "-" + i)));
        long expiredCreated = exp.histogram().getTotalCount();
        heap.add(new SuspendedResult.HeapSample("expired stored", o.suspended() + expiredCreated, Heap.usedAfterGc()));

        List<String> keys = new ArrayList<>();
        for (String k : sample) {
            if (k != null) keys.add(k);
        }
        PhaseRunner.Raw res = runner.run("resume (full store)", keys.size(), o.concurrency(),
                i -> LoadHarness.resume(hub, keys.get((int) i)));
        PhaseResult resume = runner.result("resume", res, Map.of(), -1);
        heap.add(new SuspendedResult.HeapSample("resumed sample", o.suspended() + expiredCreated, Heap.usedAfterGc()));

        AtomicReference<String> cursor = new AtomicReference<>();
        PhaseRunner.Raw q = runner.run("query by await id", o.queryPages(), 1, i -> {
            QueryCriteria.Builder c = QueryCriteria.builder().awaitId(BenchFlows.AWAIT_ID)
                    .status(FlowStatus.SUSPENDED).limit(100);
            String after = cursor.get();
            if (after != null) c.afterFlowId(after);
            return hub.query(c.build()).map(SuspensionInfo::flowId).collectList().flatMap(ids -> {
                if (ids.isEmpty()) return Mono.error(new IllegalStateException("query returned no flows"));
                cursor.set(ids.get(ids.size() - 1));
                return Mono.just(ids.size());
            });
        });
        PhaseResult query = runner.result("query", q, Map.of(), -1);

        out.printf("[bench] cleanup of expired flows%n");
        long c0 = System.nanoTime();
        CleanupReport report = hub.cleanup(CleanupCriteria.expired()).block();
        double cleanupSeconds = (System.nanoTime() - c0) / 1e9;
        long deleted = report == null ? 0 : report.deleted();
        if (report != null && !report.errors().isEmpty()) {
            out.println("[bench] cleanup errors: " + report.errors());
        }
        heap.add(new SuspendedResult.HeapSample("cleanup", o.suspended() + expiredCreated - deleted, Heap.usedAfterGc()));

        double bytesPerFlow;
        String method;
        if (storedBefore != null && storedAfter != null) {
            bytesPerFlow = (storedAfter - storedBefore) / (double) Math.max(1, o.suspended());
            method = target.storedBytesMethod();
        } else {
            bytesPerFlow = -1;
            method = "not measured (" + target.storedBytesMethod() + ")";
        }
        SuspendedResult result = new SuspendedResult("suspended", started, Machine.describe(), o.command(),
                target.name(), target.description(), o.suspended(), o.concurrency(), o.stateBytes(), fill, resume,
                query, expiredCreated, deleted, cleanupSeconds, heap, bytesPerFlow, method);
        out.print(Report.console(result));
        return result;
    }
}
