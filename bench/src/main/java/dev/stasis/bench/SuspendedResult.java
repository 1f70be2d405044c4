package dev.stasis.bench;

import java.util.List;

/**
 * The {@code --suspended} run: a store filled with many suspended flows, then resume latency, query by await id and
 * cleanup of expired flows measured on that full store, with heap sampled throughout.
 *
 * @param kind {@code suspended}
 * @param timestamp when the run started
 * @param machine the machine
 * @param command the command line
 * @param store store name
 * @param storeDescription where it ran
 * @param suspended flows filled (left suspended)
 * @param concurrency operations in flight while filling and resuming
 * @param stateBytes payload bytes per flow
 * @param fill the fill, as one phase (throughput over the whole fill)
 * @param resume resumes of a sample of the suspended flows
 * @param query pages of {@code QueryCriteria.awaitId(..).status(SUSPENDED).limit(100)}, one after the other
 * @param expiredCreated finished flows stored with an already elapsed retention, for the cleanup
 * @param cleanupDeleted how many the cleanup removed
 * @param cleanupSeconds how long {@code hub.cleanup(CleanupCriteria.expired())} took
 * @param heap heap samples (used after GC) at each batch boundary and stage
 * @param bytesPerFlow bytes per suspended flow (side channel, or the sealed size estimate)
 * @param bytesMethod how bytesPerFlow was obtained
 */
record SuspendedResult(
        String kind, String timestamp, String machine, String command, String store, String storeDescription,
        long suspended, int concurrency, int stateBytes, PhaseResult fill, PhaseResult resume, PhaseResult query,
        long expiredCreated, long cleanupDeleted, double cleanupSeconds, List<HeapSample> heap, double bytesPerFlow,
        String bytesMethod) {

    /**
     * One heap sample.
     *
     * @param label what had just happened
     * @param storedFlows flows in the store at that time
     * @param usedAfterGc used heap after GC
     */
    record HeapSample(String label, long storedFlows, long usedAfterGc) {}
}
