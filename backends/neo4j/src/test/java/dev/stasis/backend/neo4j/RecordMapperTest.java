package dev.stasis.backend.neo4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RecordMapperTest {

    private static final Instant T = Instant.parse("2026-11-22T10:15:30.123Z");

    private static FlowRecord full() {
        return FlowRecord.builder()
                .id("0123456789abcdef0123456789abcdef")
                .flowName("approval")
                .flowVersion(3)
                .status(FlowStatus.RUNNING)
                .version(7)
                .createdAt(T)
                .updatedAt(T.plusMillis(1))
                .deadline(T.plusSeconds(60))
                .correlationId("corr-1")
                .waits(List.of(
                        new WaitRecord("c".repeat(64), "third-by-hash", null, WaitRecord.Status.CLOSED),
                        new WaitRecord("a".repeat(64), "first", T.plusSeconds(5), WaitRecord.Status.RESOLVED),
                        new WaitRecord("b".repeat(64), "second", T.plusSeconds(9), WaitRecord.Status.PENDING)))
                .leaseOwner("hub-1")
                .leaseExpiresAt(T.plusSeconds(30))
                .retainUntil(T.plusSeconds(3600))
                .metadata(Map.of("tenant", "acme", "a.b", "dotted", "", "empty key", "ünï", "cødé"))
                .state("sealed".getBytes(StandardCharsets.UTF_8))
                .build();
    }

    /** What Neo4j hands back: the same values, numbers as Long, waits in any order. */
    private static RecordMapper.Raw asRead(FlowRecord r) {
        List<Map<String, Object>> waits = new ArrayList<>();
        for (Map<String, Object> w : RecordMapper.waitProperties(r)) {
            waits.add(new HashMap<>(w));
        }
        Collections.reverse(waits);
        return new RecordMapper.Raw(new HashMap<>(RecordMapper.flowProperties(r)), waits);
    }

    private static void assertSame(FlowRecord actual, FlowRecord expected) {
        assertThat(actual).usingRecursiveComparison().isEqualTo(expected);
    }

    @Test
    @DisplayName("every field round-trips, waits keep their order and instants stay millisecond exact")
    void roundTrip() {
        FlowRecord r = full();
        RecordMapper.Raw raw = asRead(r);
        assertThat(RecordMapper.intact(raw)).isTrue();
        FlowRecord back = RecordMapper.toRecord(raw);
        assertSame(back, r);
        assertThat(back.waits()).extracting(WaitRecord::awaitId).containsExactly("third-by-hash", "first", "second");
    }

    @Test
    @DisplayName("null fields are absent properties and come back as null")
    void nullsAreAbsent() {
        FlowRecord r = FlowRecord.builder().id("x").flowName("f").flowVersion(1).status(FlowStatus.SUSPENDED)
                .version(1).createdAt(T).updatedAt(T).state(new byte[0]).build();
        Map<String, Object> props = RecordMapper.flowProperties(r);
        assertThat(props).doesNotContainKeys("deadline", "correlationId", "leaseOwner", "leaseExpiresAt",
                "retainUntil");
        assertThat(props.values()).doesNotContainNull();
        assertSame(RecordMapper.toRecord(asRead(r)), r);
    }

    @Test
    @DisplayName("instants are stored as epoch milliseconds and metadata as prefixed string properties")
    void encoding() {
        Map<String, Object> props = RecordMapper.flowProperties(full());
        assertThat(props).containsEntry("createdAt", T.toEpochMilli())
                .containsEntry("meta.tenant", "acme")
                .containsEntry("meta.a.b", "dotted")
                .containsEntry("meta.", "empty key")
                .containsEntry("status", "RUNNING")
                .containsEntry("flowVersion", 3L);
        assertThat(RecordMapper.waitProperties(full())).extracting(w -> w.get("ordinal")).containsExactly(0L, 1L, 2L);
    }

    @Test
    @DisplayName("the digest flags a mix of two versions, a changed state and a missing digest")
    void digestFlagsTornReads() {
        FlowRecord r = full();
        FlowRecord next = r.toBuilder().version(8).state("other".getBytes(StandardCharsets.UTF_8)).build();
        RecordMapper.Raw torn = asRead(r);
        torn.flow().put("state", next.state());
        assertThat(RecordMapper.intact(torn)).isFalse();

        RecordMapper.Raw mixedWaits = new RecordMapper.Raw(asRead(next).flow(), asRead(r.toBuilder()
                .waits(r.waits().subList(0, 1)).build()).waits());
        assertThat(RecordMapper.intact(mixedWaits)).isFalse();

        RecordMapper.Raw noDigest = asRead(r);
        noDigest.flow().remove(RecordMapper.DIGEST);
        assertThat(RecordMapper.intact(noDigest)).isFalse();

        assertThat(RecordMapper.digest(asRead(r).flow(), asRead(r).waits()))
                .isEqualTo(RecordMapper.flowProperties(r).get(RecordMapper.DIGEST))
                .hasSize(32)
                .matches("[0-9a-f]{32}");
    }

    @Test
    @DisplayName("a node that is not a record fails clearly")
    void malformed() {
        RecordMapper.Raw noId = asRead(full());
        noId.flow().remove("id");
        assertThatThrownBy(() -> RecordMapper.toRecord(noId)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("id");
        RecordMapper.Raw badState = asRead(full());
        badState.flow().put("state", "not bytes");
        assertThatThrownBy(() -> RecordMapper.toRecord(badState)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("state");
        RecordMapper.Raw badVersion = asRead(full());
        badVersion.flow().put("version", "7");
        assertThatThrownBy(() -> RecordMapper.toRecord(badVersion)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("version");
    }
}
