package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import io.lettuce.core.cluster.SlotHash;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeysTest {

    private final Keys keys = new Keys("stasis");

    @Test
    void layout() {
        assertThat(keys.record("0190abc")).isEqualTo("stasis:{0190abc}:rec");
        assertThat(keys.keyHash("ab12")).isEqualTo("stasis:kh:ab12");
        assertThat(keys.correlation("return-7")).isEqualTo("stasis:corr:return-7");
        assertThat(keys.ids()).isEqualTo("stasis:{stasis}:ids");
        assertThat(keys.status(FlowStatus.RUNNING)).isEqualTo("stasis:{stasis}:status:RUNNING");
    }

    @Test
    void aFlowsRecordHashesByItsIdAndAllGlobalIndexesShareOneSlot() {
        String id = "0190f5a1b2c3d4e5f60718293a4b5c6d";
        assertThat(SlotHash.getSlot(keys.record(id))).isEqualTo(SlotHash.getSlot(id));
        List<String> index = new ArrayList<>(List.of(keys.ids(), keys.deadlines(), keys.leases(), keys.retain(),
                keys.versions(), keys.names(), keys.name("any {braced} name"), keys.name("")));
        for (FlowStatus s : FlowStatus.values()) {
            index.add(keys.status(s));
        }
        int slot = SlotHash.getSlot("stasis");
        for (String k : index) {
            assertThat(SlotHash.getSlot(k)).as(k).isEqualTo(slot);
        }
    }

    @Test
    void indexKeysComeInTheOrderTheIndexScriptsTakeThem() {
        assertThat(keys.indexKeys("f")).containsExactly("stasis:{stasis}:ver", "stasis:{stasis}:names",
                "stasis:{stasis}:ids", "stasis:{stasis}:name:f", "stasis:{stasis}:deadlines", "stasis:{stasis}:leases",
                "stasis:{stasis}:retain", "stasis:{stasis}:status:SUSPENDED", "stasis:{stasis}:status:RUNNING",
                "stasis:{stasis}:status:COMPLETED", "stasis:{stasis}:status:FAILED", "stasis:{stasis}:status:CANCELLED",
                "stasis:{stasis}:status:EXPIRED");
        assertThat(Scripts.LAST_INDEX).isEqualTo(1 + keys.indexKeys("f").size());
        assertThat(keys.recordPrefix() + "0190abc" + Keys.RECORD_SUFFIX).isEqualTo(keys.record("0190abc"));
    }

    @Test
    void prefixMustBeAUsableHashTag() {
        assertThatThrownBy(() -> new Keys("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Keys("a{b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Keys("a}b")).isInstanceOf(IllegalArgumentException.class);
    }
}
