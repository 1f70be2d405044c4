package dev.stasis.backend.redis;

import dev.stasis.FlowStatus;
import java.util.Objects;

/**
 * The key layout of one store (one key prefix). Three families of keys:
 *
 * <ul>
 *   <li><b>Per flow</b>, under the hash tag {@code {<flowId>}} so that everything one Lua script touches for a flow
 *       lives in one cluster slot: {@code <prefix>:{<flowId>}:rec}, the record hash.</li>
 *   <li><b>Lookup hints</b>, one key each, in whatever slot their name hashes to:
 *       {@code <prefix>:kh:<keyHash>} and {@code <prefix>:corr:<correlationId>}, both holding a flow id.</li>
 *   <li><b>Global indexes</b>, all under the hash tag {@code {<prefix>}} so that one script updates them together:
 *       {@code ids}, {@code name:<flowName>}, {@code status:<STATUS>} (lexicographic sorted sets of flow ids),
 *       {@code deadlines}, {@code leases}, {@code retain} (sorted sets scored by epoch millis), {@code ver} (flow id →
 *       the record version the indexes were last synchronised from) and {@code names} (flow id → flow name).</li>
 * </ul>
 */
final class Keys {

    /** Statuses in the order the index scripts receive their set keys. */
    static final FlowStatus[] STATUSES = FlowStatus.values();

    private final String prefix;
    private final String index;

    /**
     * Creates the layout.
     *
     * @param prefix the key prefix; must not be empty nor contain a brace (it becomes a hash tag)
     */
    Keys(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        if (prefix.isEmpty() || prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new IllegalArgumentException("key prefix must be non-empty and contain no '{' or '}': " + prefix);
        }
        this.prefix = prefix;
        this.index = prefix + ":{" + prefix + "}:";
    }

    String prefix() {
        return prefix;
    }

    String record(String flowId) {
        return prefix + ":{" + flowId + "}:rec";
    }

    String keyHash(String keyHash) {
        return prefix + ":kh:" + keyHash;
    }

    String correlation(String correlationId) {
        return prefix + ":corr:" + correlationId;
    }

    String ids() {
        return index + "ids";
    }

    String name(String flowName) {
        return index + "name:" + flowName;
    }

    String status(FlowStatus status) {
        return index + "status:" + status.name();
    }

    String deadlines() {
        return index + "deadlines";
    }

    String leases() {
        return index + "leases";
    }

    String retain() {
        return index + "retain";
    }

    String versions() {
        return index + "ver";
    }

    String names() {
        return index + "names";
    }
}
