package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KnownRecordsTest {

    private static FlowRecord record(String id, long version, String... hashes) {
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : hashes) {
            waits.add(new WaitRecord(h, "a", null, WaitRecord.Status.PENDING));
        }
        return FlowRecord.builder().id(id).flowName("f").flowVersion(1).status(FlowStatus.SUSPENDED)
                .version(version).createdAt(Instant.EPOCH).updatedAt(Instant.EPOCH).correlationId("c-" + id)
                .waits(waits).metadata(Map.of()).state(new byte[] {1}).build();
    }

    @Test
    void remembersNameHashesAndCorrelationAndKeepsTheNewerVersion() {
        KnownRecords known = new KnownRecords(16);
        known.put(record("a", 2, "h1", "h2", "h1"));
        known.put(record("a", 1, "old"));
        KnownRecords.Known a = known.get("a");
        assertThat(a.version()).isEqualTo(2);
        assertThat(a.flowName()).isEqualTo("f");
        assertThat(a.keyHashes()).as("distinct, in wait order").containsExactly("h1", "h2");
        assertThat(a.correlationId()).isEqualTo("c-a");
        known.put(record("a", 3));
        assertThat(known.get("a").keyHashes()).isEmpty();
        known.remove("a");
        assertThat(known.get("a")).isNull();
    }

    @Test
    void staysBoundedAndKeepsWhatWasTouchedLast() {
        KnownRecords known = new KnownRecords(100);
        for (int i = 0; i < 1000; i++) {
            known.put(record("f" + i, 1, "h" + i));
            assertThat(known.size()).isLessThanOrEqualTo(100);
        }
        for (int i = 950; i < 1000; i++) {
            assertThat(known.get("f" + i)).as("f" + i).isNotNull();
        }
        assertThat(known.get("f0")).isNull();
        assertThatThrownBy(() -> new KnownRecords(1)).isInstanceOf(IllegalArgumentException.class);
    }
}
