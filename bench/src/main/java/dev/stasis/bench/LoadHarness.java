package dev.stasis.bench;

import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.security.AeadCipher;
import dev.stasis.security.KeyRing;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The end-to-end load harness: N flows to their await (suspend), then every one of them resumed to completion
 * (resume), through a real {@link PersistenceHub} with encryption and compression on; then, in the same run and
 * process, the raw floor of the same store with the same payload size and concurrency. Latency is per operation,
 * from subscription to completion, in a closed loop of {@code concurrency} operations in flight.
 */
final class LoadHarness {

    /** Distinct payloads, reused round-robin (so that generating them is not part of any measured operation). */
    private static final int PAYLOADS = 256;

    /**
     * What to run.
     *
     * @param flows flows per phase
     * @param concurrency operations in flight
     * @param stateBytes payload bytes per flow
     * @param gzipLevel engine gzip level (0 = off)
     * @param cipher {@code jce} or {@code bc}
     * @param warmup flows (and floor operations) run before measuring
     * @param floor whether to measure the floor
     * @param progressMillis interval of progress lines
     * @param command the command line, for the report
     * @param flow the flow's {@code --flow} name ({@link BenchFlows#byName})
     */
    record Options(int flows, int concurrency, int stateBytes, int gzipLevel, String cipher, int warmup, boolean floor,
            long progressMillis, String command, String flow) {}

    private final PrintStream out;

    LoadHarness(PrintStream out) {
        this.out = out;
    }

    static KeyRing benchKeyRing() {
        return KeyRing.builder().add("bench-1", KeyRing.generateKey()).build();
    }

    static AeadCipher cipher(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "jce" -> AeadCipher.jce();
            case "bc", "bouncycastle" -> AeadCipher.bouncyCastle();
            default -> throw new IllegalArgumentException("cipher must be jce or bc, was " + name);
        };
    }

    RunResult run(StoreTarget target, Options o) {
        String started = Instant.now().toString();
        out.printf("[bench] %s: %s%n", target.name(), target.description());
        MeteredStore metered = new MeteredStore(target.store());
        PersistenceHub hub = PersistenceHub.builder(metered, benchKeyRing())
                .register(BenchFlows.byName(o.flow()))
                .compressionLevel(o.gzipLevel())
                .cipher(cipher(o.cipher()))
                .build();
        hub.provision().block();
        BenchFlows.Order[] orders = new BenchFlows.Order[PAYLOADS];
        byte[][] payloads = new byte[PAYLOADS][];
        for (int i = 0; i < PAYLOADS; i++) {
            orders[i] = BenchFlows.order(i, o.stateBytes());
            payloads[i] = BenchFlows.bytes(i, o.stateBytes());
        }
        PhaseRunner runner = new PhaseRunner(out, o.progressMillis());
        String runId = UUID.randomUUID().toString().substring(0, 8);
        StoreTarget.Floor floor = o.floor() ? target.floor() : null;

        if (o.warmup() > 0) {
            out.printf("[bench] %s: warm-up with %,d flows%n", target.name(), o.warmup());
            String[] wkeys = new String[o.warmup()];
            runner.run("warmup.engine.suspend", o.warmup(), o.concurrency(),
                    i -> suspend(hub, BenchFlows.byName(o.flow()), orders, i, wkeys));
            runner.run("warmup.engine.resume", o.warmup(), o.concurrency(), i -> resume(hub, wkeys[(int) i]));
            if (floor != null) {
                runner.run("warmup.floor.write", o.warmup(), o.concurrency(),
                        i -> floor.write("w" + runId + "-" + i, payloads[(int) (i % PAYLOADS)]));
                runner.run("warmup.floor.claim", o.warmup(), o.concurrency(), i -> floor.claim("w" + runId + "-" + i));
            }
        }

        List<PhaseResult> phases = new ArrayList<>();
        long heapBefore = Heap.usedAfterGc();
        Long storedBefore = target.storedBytes();
        metered.reset();
        String[] keys = new String[o.flows()];
        PhaseRunner.Raw s = runner.run("engine.suspend", o.flows(), o.concurrency(),
                i -> suspend(hub, BenchFlows.byName(o.flow()), orders, i, keys));
        phases.add(runner.result("engine.suspend", s, metered.calls(), storeShare(metered, s)));
        double meanSealed = metered.meanSuspendedStateBytes();
        Long storedAfter = target.storedBytes();
        long heapSuspended = Heap.usedAfterGc();

        metered.reset();
        PhaseRunner.Raw r = runner.run("engine.resume", o.flows(), o.concurrency(), i -> resume(hub, keys[(int) i]));
        phases.add(runner.result("engine.resume", r, metered.calls(), storeShare(metered, r)));
        long heapAfter = Heap.usedAfterGc();

        double ratioSuspend = -1;
        double ratioResume = -1;
        if (floor != null) {
            PhaseRunner.Raw fw = runner.run("floor.write", o.flows(), o.concurrency(),
                    i -> floor.write("f" + runId + "-" + i, payloads[(int) (i % PAYLOADS)]));
            PhaseResult w = runner.result("floor.write", fw, Map.of(), -1);
            PhaseRunner.Raw fc = runner.run("floor.claim", o.flows(), o.concurrency(),
                    i -> floor.claim("f" + runId + "-" + i));
            PhaseResult c = runner.result("floor.claim", fc, Map.of(), -1);
            phases.add(w);
            phases.add(c);
            ratioSuspend = w.throughput() > 0 ? phases.get(0).throughput() / w.throughput() : -1;
            ratioResume = c.throughput() > 0 ? phases.get(1).throughput() / c.throughput() : -1;
        }
        double bytesPerFlow;
        String bytesMethod;
        if (storedBefore != null && storedAfter != null && o.flows() > 0) {
            bytesPerFlow = (storedAfter - storedBefore) / (double) o.flows();
            bytesMethod = target.storedBytesMethod();
        } else {
            bytesPerFlow = meanSealed;
            bytesMethod = "estimate: mean sealed state size written by the engine (plain index fields not counted)";
        }
        RunResult result = new RunResult("load", started, Machine.describe(), o.command(), target.name(),
                target.description(), o.flows(), o.concurrency(), o.stateBytes(), o.gzipLevel(),
                cipher(o.cipher()).name(), o.warmup(), phases, floor == null ? null : floor.describe(), ratioSuspend,
                ratioResume, heapBefore, heapSuspended, heapAfter, bytesPerFlow, bytesMethod, meanSealed, o.flow());
        out.print(Report.console(result));
        return result;
    }

    private static double storeShare(MeteredStore metered, PhaseRunner.Raw raw) {
        double total = raw.histogram().getMean() * raw.histogram().getTotalCount();
        return total <= 0 ? -1 : Math.min(1.0, metered.storeNanos() / total);
    }

    static Mono<?> suspend(PersistenceHub hub, Flow<BenchFlows.Order, String> flow, BenchFlows.Order[] orders, long i,
            @Nullable String[] keys) {
        BenchFlows.Order base = orders[(int) (i % orders.length)];
        return hub.start(flow, new BenchFlows.Order("order-" + i, base.data()))
                .map(res -> {
                    if (!(res instanceof FlowResult.Suspended sus)) {
                        throw new IllegalStateException("expected a suspended flow, got " + res);
                    }
                    String key = sus.key();
                    if (keys != null) keys[(int) i] = key;
                    return key;
                });
    }

    static Mono<?> resume(PersistenceHub hub, String key) {
        return hub.resume(key, new BenchFlows.Decision(true, "bench")).map(res -> {
            if (!(res instanceof FlowResult.Completed)) {
                throw new IllegalStateException("expected a completed flow, got " + res);
            }
            return res;
        });
    }
}
