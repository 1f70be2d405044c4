package dev.stasis.bench;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One harness run on one store: what was run, where, and what it measured. Saved as JSON under
 * {@code results/runs/} and rendered by {@link Report}.
 *
 * @param kind {@code load} (this record) — kept in the JSON so that other kinds can sit beside it
 * @param timestamp when the run started (UTC, ISO-8601)
 * @param machine cores, CPU, JVM, OS
 * @param command the command line that reproduces the run
 * @param store the store name
 * @param storeDescription where it ran
 * @param flows flows per phase
 * @param concurrency operations in flight
 * @param stateBytes payload bytes of each flow's input (and of each floor record)
 * @param gzipLevel the engine's gzip level (0 = off)
 * @param cipher the engine's AES-GCM implementation
 * @param warmup flows run (and floor operations) before measuring
 * @param phases the measured phases, engine first, then floor: latency over every round, throughput the median of
 *     the rounds
 * @param floorDescription the floor's operations
 * @param ratioSuspend engine suspend throughput / floor write throughput, the median over rounds (or -1 without floor)
 * @param ratioResume engine resume throughput / floor claim throughput, the median over rounds (or -1 without floor)
 * @param heapBefore used heap after GC before the suspend phase
 * @param heapSuspended used heap after GC with every flow suspended
 * @param heapAfter used heap after GC after the resume phase
 * @param bytesPerFlow bytes the store holds per suspended flow
 * @param bytesMethod how bytesPerFlow was obtained
 * @param meanSealedBytes mean size of a suspended flow's sealed state (the envelope the engine writes)
 * @param flow the flow run ({@code --flow}); null in runs saved before the option existed, which ran
 *     {@code approval}
 * @param rounds measured rounds (0 in runs saved before rounds existed, which measured one)
 * @param roundThroughputs each phase's throughput in each round, in round order (null in older runs)
 * @param roundRatiosSuspend each round's engine suspend / floor write throughput (null without floor or in older runs)
 * @param roundRatiosResume each round's engine resume / floor claim throughput (null without floor or in older runs)
 */
record RunResult(
        String kind, String timestamp, String machine, String command, String store, String storeDescription,
        int flows, int concurrency, int stateBytes, int gzipLevel, String cipher, int warmup, List<PhaseResult> phases,
        @Nullable String floorDescription, double ratioSuspend, double ratioResume, long heapBefore,
        long heapSuspended, long heapAfter, double bytesPerFlow, String bytesMethod, double meanSealedBytes,
        @Nullable String flow, int rounds, @Nullable Map<String, List<Double>> roundThroughputs,
        @Nullable List<Double> roundRatiosSuspend, @Nullable List<Double> roundRatiosResume) {

    /** @return the flow's {@code --flow} name ({@code approval} for runs saved before the option existed) */
    String flowName() {
        return flow == null ? "approval" : flow;
    }

    /** @return the measured rounds ({@code 1} for runs saved before rounds existed) */
    int roundCount() {
        return rounds <= 0 ? 1 : rounds;
    }

    @Nullable PhaseResult phase(String name) {
        for (PhaseResult p : phases) {
            if (p.name().equals(name)) return p;
        }
        return null;
    }
}
