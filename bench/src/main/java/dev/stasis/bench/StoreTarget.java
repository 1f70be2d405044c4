package dev.stasis.bench;

import dev.stasis.spi.StateStore;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * One store under test: the engine's {@link StateStore} on it, the raw floor on the same server, and a side channel
 * that asks the server how many bytes it holds. Everything a target creates (schema, key prefix, database,
 * directory, label) is fresh for the run and removed by {@link #close()}.
 */
interface StoreTarget extends AutoCloseable {

    /** @return the store name as given on the command line */
    String name();

    /** @return where the store runs (server version, address, isolation unit), for the report */
    String description();

    /** @return the engine's store (provisioned) */
    StateStore store();

    /** @return the raw floor (provisioned) */
    Floor floor();

    /**
     * Asks the server how many bytes the engine's records take now (data and indexes), through a side channel.
     *
     * @return bytes, or null when the server cannot tell (the harness then estimates from the sealed state size)
     */
    @Nullable Long storedBytes();

    /** @return how {@link #storedBytes()} is measured, for the report */
    String storedBytesMethod();

    @Override
    void close();

    /**
     * The floor: the fewest store operations that could implement suspend (write the state) and resume (take it back
     * exactly once), with the same payload and concurrency as the engine run, and no engine at all.
     */
    interface Floor {

        /** @return the operations used, e.g. {@code INSERT + UPDATE … RETURNING} */
        String describe();

        /**
         * Writes a payload under an id (the floor's suspend).
         *
         * @param id the id
         * @param payload the payload
         * @return completes when durable as far as the store promises
         */
        Mono<?> write(String id, byte[] payload);

        /**
         * Takes the payload back once (the floor's resume); errors when it is not there.
         *
         * @param id the id
         * @return the payload
         */
        Mono<byte[]> claim(String id);
    }
}
