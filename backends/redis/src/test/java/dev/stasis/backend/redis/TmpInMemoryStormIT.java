package dev.stasis.backend.redis;

import dev.stasis.spi.InMemoryStore;
import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractStateStoreContractTest;

class TmpInMemoryStormIT extends AbstractStateStoreContractTest {
    @Override
    protected StateStore createStore() {
        return new InMemoryStore();
    }

    @Override
    protected byte[] rawState(String flowId) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected String rawDump(String flowId) {
        throw new UnsupportedOperationException();
    }
}
