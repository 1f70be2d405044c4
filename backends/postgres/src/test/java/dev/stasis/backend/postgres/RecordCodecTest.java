package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RecordCodecTest {

    private static final String H1 = "a".repeat(64);
    private static final String H2 = "b".repeat(64);

    private static FlowRecord record() {
        Instant t = Instant.parse("2026-05-06T07:08:09.123456789Z");
        return FlowRecord.builder()
                .id("0123456789abcdef0123456789abcdef")
                .flowName("purchase")
                .flowVersion(3)
                .status(FlowStatus.SUSPENDED)
                .version(1)
                .createdAt(t)
                .updatedAt(t)
                .deadline(t.plusSeconds(60))
                .waits(List.of(
                        new WaitRecord(H1, "approve \"quoted\" ünïcode", t.plusSeconds(60), WaitRecord.Status.PENDING),
                        new WaitRecord(H2, "approve \"quoted\" ünïcode", null, WaitRecord.Status.RESOLVED)))
                .metadata(Map.of("z", "last", "a", "first\nline"))
                .state(new byte[] {1, 2, 3})
                .build();
    }

    @Test
    @DisplayName("waits survive json in order, with null deadlines and millisecond instants")
    void waitsRoundTrip() {
        FlowRecord r = record();
        String json = RecordCodec.waitsJson(r.waits());
        List<WaitRecord> back = RecordCodec.waits(r.id(), json);
        assertThat(back).hasSize(2);
        assertThat(back.get(0).keyHash()).isEqualTo(H1);
        assertThat(back.get(0).awaitId()).isEqualTo("approve \"quoted\" ünïcode");
        assertThat(back.get(0).deadline()).isEqualTo(Instant.parse("2026-05-06T07:09:09.123Z"));
        assertThat(back.get(1).deadline()).isNull();
        assertThat(back.get(1).status()).isEqualTo(WaitRecord.Status.RESOLVED);
    }

    @Test
    @DisplayName("waits are read back from PostgreSQL's jsonb output (keys reordered, spaces added)")
    void waitsFromJsonbText() {
        String jsonb = "[{\"status\": \"TIMED_OUT\", \"awaitId\": \"a\", \"keyHash\": \"" + H1
                + "\", \"deadline\": \"2026-05-06T07:09:09.123Z\"}, {\"status\": \"CLOSED\", \"awaitId\": \"b\","
                + " \"keyHash\": \"" + H2 + "\", \"deadline\": null}]";
        assertThat(RecordCodec.waits("f", jsonb)).containsExactly(
                new WaitRecord(H1, "a", Instant.parse("2026-05-06T07:09:09.123Z"), WaitRecord.Status.TIMED_OUT),
                new WaitRecord(H2, "b", null, WaitRecord.Status.CLOSED));
        assertThat(RecordCodec.waits("f", "[]")).isEmpty();
    }

    @Test
    @DisplayName("unreadable stored waits or metadata are StorageExceptions naming the flow")
    void malformed() {
        assertThatThrownBy(() -> RecordCodec.waits("f1", "{\"not\": \"an array\"}"))
                .isInstanceOf(StorageException.class).hasMessageContaining("f1");
        assertThatThrownBy(() -> RecordCodec.waits("f2", "[{\"awaitId\": \"a\"}]"))
                .isInstanceOf(StorageException.class).hasMessageContaining("f2");
        assertThatThrownBy(() -> RecordCodec.waits("f3", "[{\"keyHash\": \"x\", \"awaitId\": \"a\","
                        + " \"status\": \"SLEEPING\"}]"))
                .isInstanceOf(StorageException.class).hasMessageContaining("f3");
        assertThatThrownBy(() -> RecordCodec.metadata("f4", "[1, 2]"))
                .isInstanceOf(StorageException.class).hasMessageContaining("f4");
    }

    @Test
    @DisplayName("metadata is a sorted flat json object and reads back equal")
    void metadata() {
        String json = RecordCodec.metadataJson(Map.of("z", "last", "a", "first\nline \"q\""));
        assertThat(json).isEqualTo("{\"a\":\"first\\nline \\\"q\\\"\",\"z\":\"last\"}");
        assertThat(RecordCodec.metadata("f", "{\"z\": \"last\", \"a\": \"first\\nline \\\"q\\\"\"}"))
                .isEqualTo(Map.of("z", "last", "a", "first\nline \"q\""));
        assertThat(RecordCodec.metadataJson(Map.of())).isEqualTo("{}");
    }

    @Test
    @DisplayName("insert values: 16 columns then the key hashes, typed nulls, millisecond instants, distinct await ids")
    void insertParams() {
        FlowRecord r = record();
        List<Object> p = RecordCodec.insertParams(r);
        assertThat(p).hasSize(17);
        assertThat(p.get(0)).isEqualTo(r.id());
        assertThat(p.get(3)).isEqualTo("SUSPENDED");
        assertThat(p.get(5)).isEqualTo(Instant.parse("2026-05-06T07:08:09.123Z"));
        assertThat(p.get(8)).isEqualTo(new RecordCodec.Null(String.class));
        assertThat(p.get(10)).isEqualTo(new RecordCodec.Null(Instant.class));
        assertThat((String[]) p.get(14)).containsExactly("approve \"quoted\" ünïcode");
        assertThat(((ByteBuffer) p.get(15)).remaining()).isEqualTo(3);
        assertThat((String[]) p.get(16)).containsExactly(H1, H2);
    }

    @Test
    @DisplayName("compare-and-set values: id, expected version, then the changeable columns and the key hashes")
    void compareAndSetParams() {
        FlowRecord next = record().toBuilder().version(5).leaseOwner("hub-a").build();
        List<Object> p = RecordCodec.compareAndSetParams(4, next);
        assertThat(p).hasSize(17);
        assertThat(p.subList(0, 6)).containsExactly(next.id(), 4L, "purchase", 3, "SUSPENDED", 5L);
        assertThat(p.get(9)).isEqualTo("hub-a");
        assertThat((String[]) p.get(16)).containsExactly(H1, H2);
    }

    @Test
    @DisplayName("batch document: one object per record with every column, millisecond instants, base64 state, keys")
    void batchJson() throws Exception {
        FlowRecord r = record();
        FlowRecord next = record().toBuilder().id("f2").version(5).leaseOwner("hub-a").correlationId("c-1").build();
        com.fasterxml.jackson.databind.JsonNode insert = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(RecordCodec.batchJson(List.of(r, next), null));
        assertThat(insert).hasSize(2);
        com.fasterxml.jackson.databind.JsonNode first = insert.get(0);
        assertThat(first.get("id").asText()).isEqualTo(r.id());
        assertThat(first.has("expected")).isFalse();
        assertThat(first.get("status").asText()).isEqualTo("SUSPENDED");
        assertThat(first.get("created_at").asLong()).isEqualTo(Instant.parse("2026-05-06T07:08:09.123Z").toEpochMilli());
        assertThat(first.has("correlation_id")).isFalse();
        assertThat(first.has("lease_expires_at")).isFalse();
        assertThat(first.get("await_ids").get(0).asText()).isEqualTo("approve \"quoted\" ünïcode");
        assertThat(java.util.Base64.getDecoder().decode(first.get("state").asText())).containsExactly(1, 2, 3);
        assertThat(first.get("keys").get(0).asText()).isEqualTo(H1);
        assertThat(first.get("keys").get(1).asText()).isEqualTo(H2);
        assertThat(first.get("waits").toString()).isEqualTo(RecordCodec.waitsJson(r.waits()));
        assertThat(insert.get(1).get("correlation_id").asText()).isEqualTo("c-1");

        com.fasterxml.jackson.databind.JsonNode cas = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(RecordCodec.batchJson(List.of(next), new long[] {4}));
        assertThat(cas.get(0).get("expected").asLong()).isEqualTo(4);
        assertThat(cas.get(0).get("version").asLong()).isEqualTo(5);
        assertThat(cas.get(0).get("lease_owner").asText()).isEqualTo("hub-a");
        assertThat(cas.get(0).has("correlation_id")).as("a compare-and-set never changes the correlation id").isFalse();
    }

    @Test
    @DisplayName("a row decodes to the record it was written from")
    void decode() {
        FlowRecord r = record();
        FakeRow row = FakeRow.of(r);
        FlowRecord back = RecordCodec.decode(row);
        assertThat(back.id()).isEqualTo(r.id());
        assertThat(back.flowVersion()).isEqualTo(3);
        assertThat(back.waits()).hasSize(2);
        assertThat(back.metadata()).isEqualTo(r.metadata());
        assertThat(back.state()).containsExactly(1, 2, 3);
        assertThat(back.correlationId()).isNull();
        assertThat(back.createdAt()).isEqualTo(Sql.millis(r.createdAt())).isEqualTo("2026-05-06T07:08:09.123Z");
        assertThat(back.updatedAt()).isEqualTo(Sql.millis(r.updatedAt()));
        assertThat(back.deadline()).isEqualTo(r.deadline() == null ? null : Sql.millis(r.deadline()));
        assertThat(back.leaseExpiresAt()).isNull();
    }

    @Test
    @DisplayName("an unknown stored status is a StorageException, not an IllegalArgumentException")
    void unknownStatus() {
        FakeRow row = FakeRow.of(record());
        row.values.put("status", "HIBERNATING");
        assertThatThrownBy(() -> RecordCodec.decode(row)).isInstanceOf(StorageException.class)
                .hasMessageContaining("HIBERNATING");
    }

    /** A row backed by a map of column values. */
    static final class FakeRow implements Row {
        final Map<String, Object> values = new HashMap<>();

        static FakeRow of(FlowRecord r) {
            FakeRow row = new FakeRow();
            row.values.put("id", r.id());
            row.values.put("flow_name", r.flowName());
            row.values.put("flow_version", r.flowVersion());
            row.values.put("status", r.status().name());
            row.values.put("version", r.version());
            // instants come back as epoch milliseconds (Sql.COLUMNS)
            row.values.put("created_at", r.createdAt().toEpochMilli());
            row.values.put("updated_at", r.updatedAt().toEpochMilli());
            row.values.put("deadline", r.deadline() == null ? null : r.deadline().toEpochMilli());
            row.values.put("waits", RecordCodec.waitsJson(r.waits()));
            row.values.put("metadata", RecordCodec.metadataJson(r.metadata()));
            row.values.put("state", java.util.Base64.getMimeEncoder().encodeToString(r.state()));
            return row;
        }

        @Override
        public <T> T get(int index, Class<T> type) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> T get(String name, Class<T> type) {
            return type.cast(values.get(name));
        }

        @Override
        public RowMetadata getMetadata() {
            throw new UnsupportedOperationException();
        }
    }
}
