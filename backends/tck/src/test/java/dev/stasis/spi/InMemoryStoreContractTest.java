package dev.stasis.spi;

import dev.stasis.tck.AbstractStateStoreContractTest;
import java.nio.charset.StandardCharsets;

/** The in-memory store passes the whole contract suite, with no server at all. */
class InMemoryStoreContractTest extends AbstractStateStoreContractTest {

    private final InMemoryStore memory = new InMemoryStore();

    @Override
    protected StateStore createStore() {
        return memory;
    }

    @Override
    protected byte[] rawState(String flowId) {
        return memory.raw(flowId).state().clone();
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        memory.rawReplaceState(flowId, state.clone());
    }

    @Override
    protected String rawDump(String flowId) {
        FlowRecord r = memory.raw(flowId);
        return r + " " + r.waits() + " " + r.metadata() + " " + r.correlationId() + " " + r.leaseOwner() + " "
                + new String(r.state(), StandardCharsets.ISO_8859_1);
    }
}
