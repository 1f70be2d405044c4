package dev.stasis.backend.filesystem;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Where things live in a store directory:
 *
 * <pre>
 * &lt;dir&gt;/stasis-store          marker: "stasis-filesystem-store format=1"
 * &lt;dir&gt;/records/&lt;flowId&gt;      one record file per flow (plain header + sealed state, {@link RecordFormat})
 * &lt;dir&gt;/keys/&lt;keyHash&gt;        key index: the id of the flow that has a wait with this SHA-256 key hash
 * &lt;dir&gt;/corr/&lt;sha256(corrId)&gt;  correlation index: the id of the flow with this correlation id
 * &lt;dir&gt;/locks/&lt;00..ff&gt;.lock    lock stripes (a flow's stripe is chosen by its id)
 * </pre>
 *
 * Names starting with a dot are temporary files of writes in progress (or left by a crash); readers ignore them.
 */
final class Layout {

    static final String MARKER = "stasis-store";
    static final String MARKER_CONTENT = "stasis-filesystem-store format=1\n";

    private static final Pattern FLOW_ID = Pattern.compile("[0-9a-z][0-9a-z_-]{0,127}");
    private static final Pattern KEY_HASH = Pattern.compile("[0-9a-f]{64}");

    final Path root;
    final Path marker;
    final Path records;
    final Path keys;
    final Path corr;
    final Path locks;

    Layout(Path root) {
        this.root = root;
        this.marker = root.resolve(MARKER);
        this.records = root.resolve("records");
        this.keys = root.resolve("keys");
        this.corr = root.resolve("corr");
        this.locks = root.resolve("locks");
    }

    Path record(String flowId) {
        return records.resolve(flowId);
    }

    Path keyEntry(String keyHash) {
        return keys.resolve(keyHash);
    }

    Path corrEntry(String correlationId) {
        return corr.resolve(sha256(correlationId));
    }

    /**
     * Whether a flow id can be a file name: lowercase letters, digits, {@code _} and {@code -}, at most 128
     * characters, not starting with a dot (the hub's ids are 32 lowercase hex digits).
     */
    static boolean isFlowId(String s) {
        return FLOW_ID.matcher(s).matches();
    }

    /** Whether a string is a key hash: 64 lowercase hex digits. */
    static boolean isKeyHash(String s) {
        return KEY_HASH.matcher(s).matches();
    }

    /** Whether a directory entry is a temporary file (or anything else readers must ignore). */
    static boolean isTemporary(String fileName) {
        return fileName.startsWith(".");
    }

    static String sha256(String s) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
