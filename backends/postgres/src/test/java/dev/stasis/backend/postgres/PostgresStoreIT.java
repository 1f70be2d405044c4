package dev.stasis.backend.postgres;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractStateStoreContractTest;

/**
 * The contract suite against the real PostgreSQL server (see {@link PgTestSupport} for the settings), in a fresh
 * schema that is dropped with CASCADE after the class. The side channel is a plain r2dbc connection.
 */
class PostgresStoreIT extends AbstractStateStoreContractTest {

    private final String schema = PgTestSupport.freshSchema();
    private PgTestSupport.SideChannel side;

    @Override
    protected StateStore createStore() {
        side = PgTestSupport.SideChannel.open();
        return configure(PostgresStore.builder(PgTestSupport.url()).schema(schema)).build();
    }

    /**
     * Adjusts the store's builder (for the variants of this suite).
     *
     * @param builder the builder on the local server and this class's schema
     * @return the builder
     */
    PostgresStore.Builder configure(PostgresStore.Builder builder) {
        return builder;
    }

    @Override
    protected byte[] rawState(String flowId) {
        return side.state(schema, "flows", flowId);
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        side.replaceState(schema, "flows", flowId, state);
    }

    @Override
    protected String rawDump(String flowId) {
        return side.dump(schema, "flows", flowId);
    }

    @Override
    protected void disposeStore(StateStore store) throws Exception {
        try {
            super.disposeStore(store);
        } finally {
            if (side != null) {
                side.dropSchema(schema);
                side.close();
            }
        }
    }
}
