package dev.stasis.backend.postgres;

/**
 * The whole contract suite once more, with every insert, compare-and-set and key lookup sent as the group-commit
 * statement (a batch document of one or more records), so that statement is proved on its own and not only when
 * concurrent calls happen to meet. The other suite covers the plain single-record statements, which the store uses
 * whenever a call arrives alone.
 */
class PostgresBatchStatementsIT extends PostgresStoreIT {

    @Override
    PostgresStore.Builder configure(PostgresStore.Builder builder) {
        return builder.batchStatementsAlways().writeConcurrency(2);
    }
}
