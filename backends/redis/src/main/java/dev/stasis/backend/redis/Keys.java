package dev.stasis.backend.redis;

import dev.stasis.FlowStatus;
import java.util.ArrayList;
import java.util.List;
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
    /** What follows the flow id in a record key. */
    static final String RECORD_SUFFIX = "}:rec";

    private final String prefix;
    private final String index;
    private final String ids;
    private final String deadlines;
    private final String leases;
    private final String retain;
    private final String versions;
    private final String names;
    private final String[] statusSets;

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
        this.ids = index + "ids";
        this.deadlines = index + "deadlines";
        this.leases = index + "leases";
        this.retain = index + "retain";
        this.versions = index + "ver";
        this.names = index + "names";
        this.statusSets = new String[STATUSES.length];
        for (FlowStatus s : STATUSES) {
            statusSets[s.ordinal()] = index + "status:" + s.name();
        }
    }

    String prefix() {
        return prefix;
    }

    String record(String flowId) {
        return recordPrefix() + flowId + RECORD_SUFFIX;
    }

    /** What precedes the flow id in a record key (a lookup script builds the key of the flow a hint names). */
    String recordPrefix() {
        return prefix + ":{";
    }

    String keyHash(String keyHash) {
        return prefix + ":kh:" + keyHash;
    }

    String correlation(String correlationId) {
        return prefix + ":corr:" + correlationId;
    }

    String ids() {
        return ids;
    }

    String name(String flowName) {
        return index + "name:" + flowName;
    }

    String status(FlowStatus status) {
        return statusSets[status.ordinal()];
    }

    String deadlines() {
        return deadlines;
    }

    String leases() {
        return leases;
    }

    String retain() {
        return retain;
    }

    String versions() {
        return versions;
    }

    String names() {
        return names;
    }

    /**
     * Every global index key one flow's entries live in, in the order the index scripts take them ({@link
     * Scripts#SYNC} and the standalone write scripts): {@code ver}, {@code names}, {@code ids}, {@code name:<flowName>},
     * {@code deadlines}, {@code leases}, {@code retain}, then {@code status:<STATUS>} in {@link #STATUSES} order.
     *
     * @param flowName the flow's name
     * @return 7 + {@code STATUSES.length} keys
     */
    List<String> indexKeys(String flowName) {
        List<String> k = new ArrayList<>(7 + STATUSES.length);
        k.add(versions);
        k.add(names);
        k.add(ids);
        k.add(name(flowName));
        k.add(deadlines);
        k.add(leases);
        k.add(retain);
        for (String set : statusSets) {
            k.add(set);
        }
        return k;
    }
}
