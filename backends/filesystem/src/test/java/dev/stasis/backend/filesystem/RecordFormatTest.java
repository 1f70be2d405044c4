package dev.stasis.backend.filesystem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordFormatTest {

    @TempDir
    Path tmp;

    private static FlowRecord full() {
        Instant t = Instant.parse("2026-01-02T03:04:05.678Z");
        return FlowRecord.builder()
                .id("0123456789abcdef0123456789abcdef")
                .flowName("purchase")
                .flowVersion(7)
                .status(FlowStatus.RUNNING)
                .version(42)
                .createdAt(t)
                .updatedAt(t.plusMillis(5))
                .deadline(t.plusSeconds(3600))
                .correlationId("return-ü-42")
                .waits(List.of(
                        new WaitRecord(Records.hash(), "manager-approval", t.plusSeconds(60), WaitRecord.Status.RESOLVED),
                        new WaitRecord(Records.hash(), "second", null, WaitRecord.Status.PENDING)))
                .leaseOwner("hub-1")
                .leaseExpiresAt(t.plusSeconds(30))
                .retainUntil(t.plusSeconds(86400))
                .metadata(Map.of("department", "finance", "emoji", "\uD83D\uDE80"))
                .state(new byte[] {1, 2, 3, 0, -1})
                .build();
    }

    private static void assertSame(FlowRecord a, FlowRecord b, boolean withState) {
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
        if (withState) {
            assertThat(a.state()).isEqualTo(b.state());
        }
    }

    private FlowRecord header(byte[] file, String id) throws IOException {
        Path p = tmp.resolve("f-" + System.nanoTime());
        Files.write(p, file);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return RecordFormat.readHeader(ch, id, p);
        }
    }

    @Test
    @DisplayName("a record round-trips field by field, and a header-only read gives every plain field")
    void roundTrip() throws IOException {
        FlowRecord r = full();
        byte[] file = RecordFormat.encode(r);
        assertSame(RecordFormat.decode(file, r.id(), "f"), r, true);
        FlowRecord h = header(file, r.id());
        assertSame(h, r, false);
        assertThat(h.state()).isEmpty();
        FlowRecord minimal = r.toBuilder().deadline(null).correlationId(null).waits(List.of()).leaseOwner(null)
                .leaseExpiresAt(null).retainUntil(null).metadata(Map.of()).state(new byte[0]).build();
        assertSame(RecordFormat.decode(RecordFormat.encode(minimal), r.id(), "f"), minimal, true);
    }

    @Test
    @DisplayName("a header larger than the first read is read in a second read")
    void bigHeader() throws IOException {
        FlowRecord r = full().toBuilder().metadata(Map.of("big", "x".repeat(20_000))).build();
        assertSame(header(RecordFormat.encode(r), r.id()), r, false);
    }

    @Test
    @DisplayName("every truncation of a record file is reported as corrupt, never decoded")
    void truncations() throws IOException {
        FlowRecord r = full();
        byte[] file = RecordFormat.encode(r);
        for (int len = 0; len < file.length; len++) {
            byte[] cut = Arrays.copyOf(file, len);
            assertThatThrownBy(() -> RecordFormat.decode(cut, r.id(), "f"))
                    .as("length " + len).isExactlyInstanceOf(StorageException.class).hasMessageContaining("corrupt");
            assertThatThrownBy(() -> header(cut, r.id()))
                    .as("header, length " + len).isExactlyInstanceOf(StorageException.class);
        }
    }

    @Test
    @DisplayName("every flipped bit is caught by a checksum (or the format checks)")
    void bitFlips() {
        FlowRecord r = full();
        byte[] file = RecordFormat.encode(r);
        for (int i = 0; i < file.length; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                byte[] bad = file.clone();
                bad[i] ^= (byte) (1 << bit);
                assertThatThrownBy(() -> RecordFormat.decode(bad, r.id(), "f"))
                        .as("byte " + i + " bit " + bit).isExactlyInstanceOf(StorageException.class);
            }
        }
    }

    @Test
    @DisplayName("a file renamed to another flow's id is rejected")
    void idMismatch() {
        FlowRecord r = full();
        assertThatThrownBy(() -> RecordFormat.decode(RecordFormat.encode(r), "ffffffffffffffffffffffffffffffff", "f"))
                .isInstanceOf(StorageException.class).hasMessageContaining("holds flow");
    }
}
