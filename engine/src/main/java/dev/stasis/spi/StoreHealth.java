package dev.stasis.spi;

import java.util.Map;

/**
 * What {@link StateStore#health()} reports.
 *
 * @param store a short name of the store ("postgres", "redis", …)
 * @param up whether the store answered
 * @param provisioned whether its tables/indexes/directories exist
 * @param details store-specific facts (server version, pool size); never credentials
 */
public record StoreHealth(String store, boolean up, boolean provisioned, Map<String, String> details) {

    /**
     * Copies the details.
     *
     * @param store the store's name
     * @param up reachable
     * @param provisioned provisioned
     * @param details details
     */
    public StoreHealth {
        details = Map.copyOf(details);
    }
}
