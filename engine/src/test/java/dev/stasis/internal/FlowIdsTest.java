package dev.stasis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FlowIdsTest {

    @Test
    @DisplayName("an id is 32 lowercase hex digits that start with the 12-digit epoch milliseconds")
    void format() {
        Instant now = Instant.parse("2026-12-04T03:30:00.123Z");
        String id = FlowIds.next(now);
        assertThat(id).hasSize(32).matches("[0-9a-f]{32}");
        assertThat(id).startsWith(String.format("%012x", now.toEpochMilli()));
        assertThat(FlowIds.next(now)).isNotEqualTo(id);
    }

    @Test
    @DisplayName("ids sort by creation time")
    void timeOrdered() {
        String earlier = FlowIds.next(Instant.ofEpochMilli(1_000));
        String later = FlowIds.next(Instant.ofEpochMilli(1_001));
        assertThat(earlier).isLessThan(later);
        assertThat(FlowIds.next(Instant.ofEpochMilli(0))).startsWith("000000000000");
    }
}
