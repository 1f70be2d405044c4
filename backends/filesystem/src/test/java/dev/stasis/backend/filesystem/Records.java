package dev.stasis.backend.filesystem;

import dev.stasis.FlowStatus;
import dev.stasis.internal.FlowIds;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Test records. */
final class Records {

    private Records() {}

    static String hash() {
        return ResumeKeys.hash(ResumeKeys.generate());
    }

    static Instant now() {
        return Instant.ofEpochMilli(System.currentTimeMillis());
    }

    static FlowRecord suspended(String flowName, String... keyHashes) {
        Instant created = now();
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : keyHashes) {
            waits.add(new WaitRecord(h, "await-" + h.substring(0, 4), created.plusSeconds(60),
                    WaitRecord.Status.PENDING));
        }
        byte[] state = new byte[48];
        ThreadLocalRandom.current().nextBytes(state);
        return FlowRecord.builder()
                .id(FlowIds.next(created))
                .flowName(flowName)
                .flowVersion(1)
                .status(FlowStatus.SUSPENDED)
                .version(1)
                .createdAt(created)
                .updatedAt(created)
                .deadline(keyHashes.length > 0 ? created.plusSeconds(60) : null)
                .waits(waits)
                .metadata(Map.of("tenant", "t1"))
                .state(state)
                .build();
    }
}
