package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecordCodecTest {

    private static final String H1 = "a".repeat(64);
    private static final String H2 = "0123456789abcdef".repeat(4);

    private static FlowRecord full() {
        return FlowRecord.builder()
                .id("0190f5a1b2c3d4e5f60718293a4b5c6d")
                .flowName("purchase: ü/ß, with = & , : % + separators")
                .flowVersion(3)
                .status(FlowStatus.RUNNING)
                .version(42)
                .createdAt(Instant.parse("1969-12-31T23:59:59.123Z"))
                .updatedAt(Instant.parse("2030-01-02T03:04:05.678Z"))
                .deadline(Instant.parse("2030-01-03T00:00:00Z"))
                .correlationId("return-{order}:17 &x=y")
                .waits(List.of(
                        new WaitRecord(H1, "manager approval, step 1: a=b&c", Instant.ofEpochMilli(5),
                                WaitRecord.Status.PENDING),
                        new WaitRecord(H2, "", null, WaitRecord.Status.RESOLVED)))
                .leaseOwner("hub-1 (eu)")
                .leaseExpiresAt(Instant.ofEpochMilli(-1))
                .retainUntil(Instant.ofEpochMilli(Long.MAX_VALUE / 1_000_000))
                .metadata(Map.of("tenant", "a&b=c", "", "empty key", "emoji", "\uD83D\uDE00", "blank", ""))
                .state(new byte[] {0, -1, 10, 13, 44, 58})
                .build();
    }

    private static void assertSame(FlowRecord a, FlowRecord b) {
        assertThat(a.id()).isEqualTo(b.id());
        assertThat(a.flowName()).isEqualTo(b.flowName());
        assertThat(a.flowVersion()).isEqualTo(b.flowVersion());
        assertThat(a.status()).isEqualTo(b.status());
        assertThat(a.version()).isEqualTo(b.version());
        assertThat(a.createdAt()).isEqualTo(b.createdAt());
        assertThat(a.updatedAt()).isEqualTo(b.updatedAt());
        assertThat(a.deadline()).isEqualTo(b.deadline());
        assertThat(a.correlationId()).isEqualTo(b.correlationId());
        assertThat(a.waits()).containsExactlyElementsOf(b.waits());
        assertThat(a.leaseOwner()).isEqualTo(b.leaseOwner());
        assertThat(a.leaseExpiresAt()).isEqualTo(b.leaseExpiresAt());
        assertThat(a.retainUntil()).isEqualTo(b.retainUntil());
        assertThat(a.metadata()).isEqualTo(b.metadata());
        assertThat(a.state()).isEqualTo(b.state());
    }

    @Test
    void roundTripsEveryField() {
        FlowRecord r = full();
        assertSame(RecordCodec.decode(RecordCodec.encode(r)), r);
    }

    @Test
    void nullColumnsAreAbsentFieldsAndEmptyListsRoundTrip() {
        FlowRecord r = full().toBuilder().deadline(null).correlationId(null).leaseOwner(null).leaseExpiresAt(null)
                .retainUntil(null).waits(List.of()).metadata(Map.of()).state(new byte[0]).build();
        Map<String, byte[]> fields = RecordCodec.encode(r);
        assertThat(fields).doesNotContainKeys("deadline", "corr", "lease", "leaseExp", "retain");
        assertThat(fields.get("waits")).isEmpty();
        assertThat(fields.get("meta")).isEmpty();
        assertSame(RecordCodec.decode(fields), r);
    }

    @Test
    void waitsAreReadableTextWithTheHashesInClear() {
        String text = RecordCodec.encodeWaits(full().waits());
        assertThat(text).startsWith(H1 + ":PENDING:5:").contains("," + H2 + ":RESOLVED::");
        assertThat(RecordCodec.keyHashes(text)).containsExactly(H1, H2);
        assertThat(RecordCodec.decodeWaits("")).isEmpty();
    }

    @Test
    void metadataIsSortedAndEscaped() {
        assertThat(RecordCodec.encodeMetadata(Map.of("b", "2", "a", "x&y=z"))).isEqualTo("a=x%26y%3Dz&b=2");
    }

    @Test
    void malformedRecordsAreStorageExceptions() {
        Map<String, byte[]> fields = new HashMap<>(RecordCodec.encode(full()));
        fields.remove("state");
        assertThatThrownBy(() -> RecordCodec.decode(fields)).isInstanceOf(StorageException.class)
                .hasMessageContaining("state");
        Map<String, byte[]> badWaits = new HashMap<>(RecordCodec.encode(full()));
        badWaits.put("waits", "nonsense".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> RecordCodec.decode(badWaits)).isInstanceOf(StorageException.class);
        Map<String, byte[]> badStatus = new HashMap<>(RecordCodec.encode(full()));
        badStatus.put("status", "SLEEPING".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> RecordCodec.decode(badStatus)).isInstanceOf(StorageException.class);
    }
}
