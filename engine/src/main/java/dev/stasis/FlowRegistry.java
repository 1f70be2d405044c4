package dev.stasis;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Flow definitions by name and version. A stored flow is found again here when it resumes: the flow's code is its
 * continuation. Thread-safe.
 */
public final class FlowRegistry {

    private final Map<String, Flow<?, ?>> flows = new ConcurrentHashMap<>();

    /** Creates an empty registry. */
    public FlowRegistry() {}

    /**
     * Registers a flow.
     *
     * @param flow the definition
     * @return this registry
     * @throws IllegalStateException when a different definition is already registered under the same name and
     *     version
     */
    public FlowRegistry register(Flow<?, ?> flow) {
        Flow<?, ?> previous = flows.putIfAbsent(key(flow.name(), flow.version()), flow);
        if (previous != null && previous != flow) {
            throw new IllegalStateException(flow + " is already registered");
        }
        return this;
    }

    /**
     * Finds a definition.
     *
     * @param name the flow name
     * @param version the flow version
     * @return the definition, or empty when that name and version are not registered
     */
    public Optional<Flow<?, ?>> find(String name, int version) {
        return Optional.ofNullable(flows.get(key(name, version)));
    }

    private static String key(String name, int version) {
        return name + "@" + version;
    }
}
