package dev.stasis.samples;

import dev.stasis.PersistenceHub;
import dev.stasis.backend.filesystem.FilesystemStore;
import dev.stasis.security.KeyRing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A hub on the filesystem store in {@code <data>/store}, with the key ring from the environment or, in development
 * mode, from the development key file {@code <data>/store.dev-key}.
 */
final class Workspace {

    final Path data;
    final Path storeDir;
    final FilesystemStore store;
    final PersistenceHub hub;
    final String keySource;

    private Workspace(Path data, FilesystemStore store, PersistenceHub hub, String keySource) {
        this.data = data;
        this.storeDir = store.directory();
        this.store = store;
        this.hub = hub;
        this.keySource = keySource;
    }

    /**
     * Opens (and provisions) the workspace.
     *
     * @param data the data directory
     * @param developmentMode whether a development key file may be used (or created) when no key is configured
     * @param instanceId the hub's instance id
     * @return the workspace
     * @throws IOException when the data directory cannot be created
     */
    static Workspace open(Path data, boolean developmentMode, String instanceId) throws IOException {
        Path absolute = data.toAbsolutePath().normalize();
        if (!Files.isDirectory(absolute)) {
            // owner-only: it holds the store and, in development mode, the key file
            if (absolute.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createDirectories(absolute,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(absolute);
            }
        }
        Path storeDir = absolute.resolve("store");
        Map<String, String> env = System.getenv();
        boolean configured = isSet(env.get(KeyRing.ENV_KEYS)) || isSet(env.get(KeyRing.ENV_KEY_FILE));
        KeyRing keys = FilesystemStore.keyRing(storeDir, developmentMode, env);
        String keySource = configured
                ? "from the environment (" + KeyRing.ENV_KEYS + " / " + KeyRing.ENV_KEY_FILE + ")"
                : "DEVELOPMENT MODE - key file " + FilesystemStore.developmentKeyFile(storeDir) + " (0600)";
        FilesystemStore store = FilesystemStore.builder(storeDir).build();
        // every flow that may be resumed must be registered before its first resume: a resume often happens in
        // another process than the start (resume KEY JSON, conversation say ...), so register them all here
        PersistenceHub hub = PersistenceHub.builder(store, keys)
                .register(PurchaseFlow.FLOW)
                .register(ConversationFlow.FLOW)
                .register(ReturnFlow.FLOW)
                .register(ReleaseFlow.FLOW)
                .register(QuorumFlow.FLOW)
                .instanceId(instanceId)
                .build();
        hub.provision().block(Duration.ofSeconds(30));
        return new Workspace(absolute, store, hub, keySource);
    }

    private static boolean isSet(@Nullable String value) {
        return value != null && !value.isBlank();
    }
}
