package dev.stasis.tck;

import dev.stasis.spi.StateStore;
import java.util.Map;

/**
 * Creates a store inside a child JVM for the crash-injection suite. Implementations need a public no-argument
 * constructor; the child calls {@link #create} with its environment, which carries the store's settings.
 */
public interface ChildStoreFactory {

    /**
     * Creates (and connects) the store the parent test uses too.
     *
     * @param environment the child's environment variables
     * @return the store
     * @throws Exception when the store cannot be created
     */
    StateStore create(Map<String, String> environment) throws Exception;
}
