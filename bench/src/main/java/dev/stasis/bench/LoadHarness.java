package dev.stasis.bench;

import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.security.AeadCipher;
import dev.stasis.security.KeyRing;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The end-to-end load harness: N flows to their await (suspend), then every one of them resumed to completion
 * (resume), through a real {@link PersistenceHub} with encryption and compression on; then, in the same run and
 * process, the raw floor of the same store with the same payload size and concurrency. Latency is per operation,
 * from subscription to completion, in a closed loop of {@code concurrency} operations in flight. The measured phases
 * run in {@code rounds} rounds whose order alternates between engine first and floor first; throughputs and ratios
 * are medians over the rounds.
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
     * @param rounds measured rounds of every phase, in alternating order (engine first, then floor first, ...)
     */
    record Options(int flows, int concurrency, int stateBytes, int gzipLevel, String cipher, int warmup, boolean floor,
            long progressMillis, String command, String flow, int rounds) {}

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

        // Rounds alternate the order (engine then floor, floor then engine, ...) so that neither side is measured
        // only after the other has warmed the JIT, the driver and the server; each figure is the median over rounds,
        // and each ratio the median of the per-round ratios (engine and floor measured minutes apart on a shared
        // 2-core machine would mostly measure the machine's drift).
        long heapBefore = Heap.usedAfterGc();
        long heapSuspended = 0;
        double meanSealed = 0;
        Long storedBefore = null;
        Long storedAfter = null;
        Map<String, List<PhaseRunner.Raw>> raws = new LinkedHashMap<>();
        for (String name : PHASE_NAMES) {
            raws.put(name, new ArrayList<>());
        }
        List<Map<String, Long>> suspendCalls = new ArrayList<>();
        List<Map<String, Long>> resumeCalls = new ArrayList<>();
        long[] storeNanos = new long[2];
        List<Double> ratiosSuspend = new ArrayList<>();
        List<Double> ratiosResume = new ArrayList<>();
        for (int round = 1; round <= o.rounds(); round++) {
            if (o.rounds() > 1) {
                out.printf("[bench] %s: round %d of %d%s%n", target.name(), round, o.rounds(),
                        floor != null && round % 2 == 0 ? " (floor first)" : "");
            }
            String prefix = "f" + runId + "-" + round + "-";
            if (floor != null && round % 2 == 0) {
                runFloor(runner, raws, floor, prefix, payloads, o);
            }
            metered.reset();
            if (round == 1) {
                storedBefore = target.storedBytes();
            }
            String[] keys = new String[o.flows()];
            PhaseRunner.Raw s = runner.run("engine.suspend", o.flows(), o.concurrency(),
                    i -> suspend(hub, BenchFlows.byName(o.flow()), orders, i, keys));
            raws.get("engine.suspend").add(s);
            suspendCalls.add(metered.calls());
            storeNanos[0] += metered.storeNanos();
            if (round == 1) {
                meanSealed = metered.meanSuspendedStateBytes();
                storedAfter = target.storedBytes();
                heapSuspended = Heap.usedAfterGc();
            }
            metered.reset();
            PhaseRunner.Raw r = runner.run("engine.resume", o.flows(), o.concurrency(),
                    i -> resume(hub, keys[(int) i]));
            raws.get("engine.resume").add(r);
            resumeCalls.add(metered.calls());
            storeNanos[1] += metered.storeNanos();
            if (floor != null && round % 2 == 1) {
                runFloor(runner, raws, floor, prefix, payloads, o);
            }
            if (floor != null) {
                ratiosSuspend.add(ratio(s, last(raws.get("floor.write"))));
                ratiosResume.add(ratio(r, last(raws.get("floor.claim"))));
                if (o.rounds() > 1) {
                    out.printf(Locale.ROOT, "[bench] %s: round %d engine/floor throughput: suspend %.2fx, resume %.2fx%n",
                            target.name(), round, last(ratiosSuspend), last(ratiosResume));
                }
            }
        }
        long heapAfter = Heap.usedAfterGc();

        List<PhaseResult> phases = new ArrayList<>();
        Map<String, List<Double>> roundThroughputs = new LinkedHashMap<>();
        phases.add(aggregate("engine.suspend", raws.get("engine.suspend"), sum(suspendCalls),
                storeNanos[0], roundThroughputs));
        phases.add(aggregate("engine.resume", raws.get("engine.resume"), sum(resumeCalls), storeNanos[1],
                roundThroughputs));
        if (floor != null) {
            phases.add(aggregate("floor.write", raws.get("floor.write"), Map.of(), -1, roundThroughputs));
            phases.add(aggregate("floor.claim", raws.get("floor.claim"), Map.of(), -1, roundThroughputs));
        }
        double ratioSuspend = floor == null ? -1 : median(ratiosSuspend);
        double ratioResume = floor == null ? -1 : median(ratiosResume);
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
                ratioResume, heapBefore, heapSuspended, heapAfter, bytesPerFlow, bytesMethod, meanSealed, o.flow(),
                o.rounds(), roundThroughputs, floor == null ? null : ratiosSuspend, floor == null ? null : ratiosResume);
        out.print(Report.console(result));
        return result;
    }

    private static final List<String> PHASE_NAMES =
            List.of("engine.suspend", "engine.resume", "floor.write", "floor.claim");

    private static void runFloor(PhaseRunner runner, Map<String, List<PhaseRunner.Raw>> raws, StoreTarget.Floor floor,
            String prefix, byte[][] payloads, Options o) {
        raws.get("floor.write").add(runner.run("floor.write", o.flows(), o.concurrency(),
                i -> floor.write(prefix + i, payloads[(int) (i % PAYLOADS)])));
        raws.get("floor.claim").add(runner.run("floor.claim", o.flows(), o.concurrency(),
                i -> floor.claim(prefix + i)));
    }

    /**
     * One phase over all rounds: latency percentiles of every operation of every round, throughput the median of the
     * rounds' throughputs, store calls summed (so that calls per operation stay exact), store share over all rounds.
     */
    private static PhaseResult aggregate(String name, List<PhaseRunner.Raw> rounds, Map<String, Long> calls,
            long storeNanos, Map<String, List<Double>> roundThroughputs) {
        Histogram all = new Histogram(rounds.get(0).histogram().getHighestTrackableValue(), 3);
        long errors = 0;
        double seconds = 0;
        String firstError = null;
        List<Double> throughputs = new ArrayList<>();
        for (PhaseRunner.Raw r : rounds) {
            all.add(r.histogram());
            errors += r.errors();
            seconds += r.seconds();
            throughputs.add(r.throughput());
            if (firstError == null) {
                firstError = r.firstError();
            }
        }
        roundThroughputs.put(name, throughputs);
        double latencyTotal = all.getMean() * all.getTotalCount();
        double share = storeNanos < 0 || latencyTotal <= 0 ? -1 : Math.min(1.0, storeNanos / latencyTotal);
        return PhaseResult.of(name, all, errors, seconds, calls, share, firstError).withThroughput(median(throughputs));
    }

    private static double ratio(PhaseRunner.Raw engine, PhaseRunner.Raw floor) {
        return floor.throughput() > 0 ? engine.throughput() / floor.throughput() : -1;
    }

    private static Map<String, Long> sum(List<Map<String, Long>> maps) {
        Map<String, Long> total = new TreeMap<>();
        for (Map<String, Long> m : maps) {
            m.forEach((k, v) -> total.merge(k, v, Long::sum));
        }
        return total;
    }

    /** The median (the mean of the two middle values for an even count); -1 for none. */
    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return -1;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static <T> T last(List<T> list) {
        return list.get(list.size() - 1);
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
