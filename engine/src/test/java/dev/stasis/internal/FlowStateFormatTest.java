package dev.stasis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.stasis.FlowStatus;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The JSON form of {@link FlowState}: defaults left out, read back exactly, older (explicit) states still read. */
class FlowStateFormatTest {

    private final ObjectMapper mapper = Json.defaultMapper();

    @Test
    @DisplayName("fields at their initial value are not written; the format version always is")
    void defaultsLeftOut() throws Exception {
        FlowState s = new FlowState();
        s.status = FlowStatus.SUSPENDED;
        FlowState.PendingGroup g = new FlowState.PendingGroup();
        g.id = "await:a#0";
        FlowState.PendingWait w = new FlowState.PendingWait();
        w.awaitId = "a";
        w.keyHash = "00".repeat(32);
        g.waits.add(w);
        s.pending = g;

        String json = mapper.writeValueAsString(s);

        assertThat(json).isEqualTo("{\"format\":1,\"status\":\"SUSPENDED\",\"pending\":{\"id\":\"await:a#0\","
                + "\"waits\":[{\"awaitId\":\"a\",\"keyHash\":\"" + "00".repeat(32) + "\"}]}}");
    }

    @Test
    @DisplayName("the initial values are part of the stored format: a minimal state reads with exactly these")
    void initialValuesPinned() throws Exception {
        FlowState s = mapper.readValue("{\"format\":1,\"pending\":{\"waits\":[{}]},\"results\":{\"h\":{\"waits\":[{}]}},"
                + "\"journal\":[{}]}", FlowState.class);

        assertThat(s.status).isEqualTo(FlowStatus.RUNNING);
        assertThat(s.input).isNull();
        assertThat(s.startMetadata).isEmpty();
        assertThat(s.injected).isEmpty();
        assertThat(s.claimKeyHash).isNull();
        assertThat(s.output).isNull();
        FlowState.PendingGroup g = s.pending;
        assertThat(g.id).isEmpty();
        assertThat(g.required).isEqualTo(1);
        FlowState.PendingWait w = g.waits.get(0);
        assertThat(w.awaitId).isEmpty();
        assertThat(w.name).isEmpty();
        assertThat(w.description).isEmpty();
        assertThat(w.status).isEqualTo(WaitRecord.Status.PENDING);
        assertThat(w.hasDefault).isFalse();
        assertThat(w.hasInput).isFalse();
        assertThat(w.arrival).isZero();
        assertThat(w.metadata).isEmpty();
        assertThat(w.deadline).isNull();
        FlowState.StoredResult r = s.results.get("h");
        assertThat(r.status).isEqualTo(FlowStatus.SUSPENDED);
        assertThat(r.waits.get(0).metadata).isEmpty();
        assertThat(r.waits.get(0).key).isNull();
        FlowState.JournalEntry e = s.journal.get(0);
        assertThat(e.id).isEmpty();
        assertThat(e.kind).isEmpty();
        assertThat(e.value).isNull();
    }

    @Test
    @DisplayName("a state with every field set round-trips, and one written with every field explicit still reads")
    void roundTripAndOldForm() throws Exception {
        FlowState s = new FlowState();
        s.status = FlowStatus.COMPLETED;
        s.input = TextNode.valueOf("in");
        s.journal.add(FlowState.JournalEntry.await("await:a#0", Map.of("a", IntNode.valueOf(0)), List.of("b")));
        s.startMetadata.put("m", "v");
        s.injected.put("x", IntNode.valueOf(1));
        FlowState.StoredResult r = new FlowState.StoredResult();
        r.status = FlowStatus.RUNNING;
        r.idempotencyKeyHash = "i";
        r.expiresAt = Instant.parse("2026-01-01T00:00:00Z");
        s.results.put("h", r);
        FlowState.PendingGroup g = new FlowState.PendingGroup();
        g.required = 0;
        FlowState.PendingWait w = new FlowState.PendingWait();
        w.status = WaitRecord.Status.RESOLVED;
        w.hasInput = true;
        w.hasDefault = true;
        w.arrival = 3;
        w.input = IntNode.valueOf(0);
        g.waits.add(w);
        s.pending = g;
        s.claimKeyHash = "c";
        s.output = IntNode.valueOf(7);

        String json = mapper.writeValueAsString(s);
        FlowState back = mapper.readValue(json, FlowState.class);
        assertThat(mapper.writeValueAsString(back)).isEqualTo(json);
        assertThat(back.pending.required).isZero();
        assertThat(back.pending.waits.get(0).arrival).isEqualTo(3);
        assertThat(back.results.get("h").status).isEqualTo(FlowStatus.RUNNING);

        // as the engine wrote states before defaults were left out
        String explicit = "{\"format\":1,\"status\":\"SUSPENDED\",\"input\":\"in\",\"journal\":[],\"pending\":{\"id\":\"g\","
                + "\"required\":1,\"waits\":[{\"awaitId\":\"a\",\"name\":\"A\",\"description\":\"\",\"keyHash\":\"k\","
                + "\"hasDefault\":false,\"metadata\":{},\"status\":\"PENDING\",\"hasInput\":false,\"arrival\":0}]},"
                + "\"startMetadata\":{},\"injected\":{},\"results\":{}}";
        FlowState old = mapper.readValue(explicit, FlowState.class);
        assertThat(old.status).isEqualTo(FlowStatus.SUSPENDED);
        assertThat(old.pending.waits.get(0).name).isEqualTo("A");
        assertThat(mapper.writeValueAsString(old)).isEqualTo("{\"format\":1,\"status\":\"SUSPENDED\",\"input\":\"in\","
                + "\"pending\":{\"id\":\"g\",\"waits\":[{\"awaitId\":\"a\",\"name\":\"A\",\"keyHash\":\"k\"}]}}");
    }
}
