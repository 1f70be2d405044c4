package dev.stasis.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/** Heap measurements: used heap after a full GC (what the program holds), and a cheap sample without GC. */
final class Heap {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private Heap() {}

    /**
     * Runs a GC (twice, with a pause, so that finalization and reference processing settle) and returns used heap.
     *
     * @return bytes used after GC
     */
    static long usedAfterGc() {
        for (int i = 0; i < 2; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    /** @return bytes used now (no GC: includes garbage) */
    static long usedNow() {
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
