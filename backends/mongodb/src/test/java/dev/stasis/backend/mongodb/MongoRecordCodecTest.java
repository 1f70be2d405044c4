package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.bson.BsonDocument;
import org.bson.BsonType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MongoRecordCodecTest {

    private static final Instant T = Instant.parse("2026-03-04T05:06:07.089Z");

    private static FlowRecord full() {
        return FlowRecord.builder()
                .id("0190aaaabbbbccccddddeeeeffff0000")
                .flowName("purchase")
                .flowVersion(3)
                .status(FlowStatus.SUSPENDED)
                .version(7)
                .createdAt(T)
                .updatedAt(T.plusMillis(1))
                .deadline(T.plusSeconds(60))
                .correlationId("return-42")
                .waits(List.of(
                        new WaitRecord("aa".repeat(32), "approval", T.plusSeconds(60), WaitRecord.Status.PENDING),
                        new WaitRecord("bb".repeat(32), "approval", null, WaitRecord.Status.RESOLVED)))
                .leaseOwner("hub-a")
                .leaseExpiresAt(T.plusSeconds(30))
                .retainUntil(T.plusSeconds(86400))
                .metadata(Map.of("tenant", "acme", "a.b", "dot", "$x", "dollar", "50%", "pct", "", "empty"))
                .state(new byte[] {1, 2, 3, 0, -1})
                .build();
    }

    private static void assertSame(FlowRecord actual, FlowRecord expected) {
        assertThat(actual).usingRecursiveComparison().isEqualTo(expected);
    }

    @Test
    @DisplayName("every field survives a round trip, with BSON dates, int64 version and binary state")
    void roundTrip() {
        FlowRecord r = full();
        BsonDocument d = MongoRecordCodec.encode(r);
        assertThat(d.getString("_id").getValue()).isEqualTo(r.id());
        assertThat(d.get("createdAt").getBsonType()).isEqualTo(BsonType.DATE_TIME);
        assertThat(d.get("deadline").getBsonType()).isEqualTo(BsonType.DATE_TIME);
        assertThat(d.get("version").getBsonType()).isEqualTo(BsonType.INT64);
        assertThat(d.get("flowVersion").getBsonType()).isEqualTo(BsonType.INT32);
        assertThat(d.get("state").getBsonType()).isEqualTo(BsonType.BINARY);
        assertThat(d.getArray("keyHashes")).extracting(v -> v.asString().getValue())
                .containsExactly("aa".repeat(32), "bb".repeat(32));
        assertThat(d.getArray("awaitIds")).extracting(v -> v.asString().getValue()).containsExactly("approval");
        assertThat(d.getDocument("metadata").keySet())
                .containsExactlyInAnyOrder("tenant", "a%2Eb", "%24x", "50%25", "%");
        // a suspended flow never carries the TTL field
        assertThat(d.containsKey("expireAt")).isFalse();
        assertSame(MongoRecordCodec.decode(d), r);
        assertSame(MongoRecordCodec.decode(BsonDocument.parse(d.toJson())), r);
    }

    @Test
    @DisplayName("absent values are left out, so the sparse unique indexes skip them")
    void absentValuesLeftOut() {
        FlowRecord r = FlowRecord.builder()
                .id("0190aaaabbbbccccddddeeeeffff0001")
                .flowName("bare")
                .flowVersion(1)
                .status(FlowStatus.RUNNING)
                .version(1)
                .createdAt(T)
                .updatedAt(T)
                .state(new byte[0])
                .build();
        BsonDocument d = MongoRecordCodec.encode(r);
        assertThat(d.keySet()).doesNotContain("deadline", "correlationId", "keyHashes", "awaitIds", "leaseOwner",
                "leaseExpiresAt", "retainUntil", "expireAt");
        assertThat(d.getArray("waits")).isEmpty();
        assertSame(MongoRecordCodec.decode(d), r);
    }

    @Test
    @DisplayName("only a finished record with a retention end gets expireAt, equal to retainUntil")
    void expireAtOnlyWhenFinished() {
        for (FlowStatus s : FlowStatus.values()) {
            BsonDocument d = MongoRecordCodec.encode(full().toBuilder().status(s).build());
            if (s.isTerminal()) {
                assertThat(d.get("expireAt")).as(s.name()).isEqualTo(d.get("retainUntil"));
            } else {
                assertThat(d.containsKey("expireAt")).as(s.name()).isFalse();
            }
        }
        BsonDocument noRetention = MongoRecordCodec.encode(
                full().toBuilder().status(FlowStatus.COMPLETED).retainUntil(null).build());
        assertThat(noRetention.containsKey("expireAt")).isFalse();
    }

    @Test
    @DisplayName("instants are kept at millisecond precision")
    void millisecondPrecision() {
        Instant nanos = Instant.parse("2026-03-04T05:06:07.089123456Z");
        FlowRecord r = full().toBuilder().createdAt(nanos).build();
        assertThat(MongoRecordCodec.decode(MongoRecordCodec.encode(r)).createdAt())
                .isEqualTo(Instant.parse("2026-03-04T05:06:07.089Z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "plain", "a.b", "$set", "%", "%25", "%2E", "x\0y", "..", "$", "é.ü$%"})
    @DisplayName("metadata keys escape to plain field names and back")
    void metadataKeys(String key) {
        String escaped = MongoRecordCodec.escapeKey(key);
        assertThat(escaped).isNotEmpty().doesNotContain(".").doesNotContain("$").doesNotContain("\0");
        assertThat(MongoRecordCodec.unescapeKey(escaped)).isEqualTo(key);
    }

    @Test
    @DisplayName("unknown or truncated escapes are rejected")
    void badEscapes() {
        assertThatThrownBy(() -> MongoRecordCodec.unescapeKey("a%2")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MongoRecordCodec.unescapeKey("a%41")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @DisplayName("a malformed document is a StorageException naming the flow")
    void malformed() {
        BsonDocument d = MongoRecordCodec.encode(full());
        d.remove("state");
        assertThatThrownBy(() -> MongoRecordCodec.decode(d))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining(full().id());
        BsonDocument badStatus = MongoRecordCodec.encode(full());
        badStatus.put("status", new org.bson.BsonString("NAPPING"));
        assertThatThrownBy(() -> MongoRecordCodec.decode(badStatus)).isInstanceOf(StorageException.class);
    }
}
