package dev.stasis.backend.filesystem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.security.KeyRing;
import dev.stasis.security.KeyRingException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevelopmentKeyTest {

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    private String stderr() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName("development mode creates an owner-only key file beside the store and says so on stderr")
    void developmentModeCreatesKeyFile() throws IOException {
        Path store = tmp.resolve("data/store");
        KeyRing ring = FilesystemStore.keyRing(store, true, Map.of(), err);
        Path keyFile = tmp.resolve("data/store.dev-key");
        assertThat(FilesystemStore.developmentKeyFile(store)).isEqualTo(keyFile.toAbsolutePath());
        assertThat(keyFile).isRegularFile();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
        assertThat(stderr()).contains("DEVELOPMENT MODE").contains("created").contains(keyFile.toString())
                .contains("STASIS_KEYS");
        assertThat(ring.keyIds()).hasSize(1);
        // not inside the store: copying the store directory does not copy the key
        assertThat(keyFile.startsWith(store)).isFalse();

        errBytes.reset();
        KeyRing again = FilesystemStore.keyRing(store, true, Map.of(), err);
        assertThat(again.primaryKey().getEncoded()).isEqualTo(ring.primaryKey().getEncoded());
        assertThat(stderr()).contains("DEVELOPMENT MODE").contains("using");
    }

    @Test
    @DisplayName("without a key and without development mode it fails closed, telling how to configure a key")
    void failsClosed() {
        Path store = tmp.resolve("store");
        assertThatThrownBy(() -> FilesystemStore.keyRing(store, false, Map.of(), err))
                .isInstanceOf(KeyRingException.class)
                .hasMessageContaining("No encryption key is configured")
                .hasMessageContaining("STASIS_KEYS")
                .hasMessageContaining("STASIS_KEY_FILE")
                .hasMessageContaining("development mode");
        assertThat(FilesystemStore.developmentKeyFile(store)).doesNotExist();
        assertThat(stderr()).isEmpty();
    }

    @Test
    @DisplayName("a configured key wins over development mode and creates no file")
    void environmentWins() {
        byte[] key = KeyRing.generateKey();
        Map<String, String> env = Map.of("STASIS_KEYS", "prod-1:" + Base64.getEncoder().encodeToString(key));
        Path store = tmp.resolve("store");
        for (boolean dev : new boolean[] {true, false}) {
            KeyRing ring = FilesystemStore.keyRing(store, dev, env, err);
            assertThat(ring.primaryKeyId()).isEqualTo("prod-1");
            assertThat(ring.primaryKey().getEncoded()).isEqualTo(key);
        }
        assertThat(FilesystemStore.developmentKeyFile(store)).doesNotExist();
        assertThat(stderr()).isEmpty();
    }

    @Test
    @DisplayName("a development key file readable by others is used with a warning")
    void warnsAboutLooseKeyFile() throws IOException {
        Path store = tmp.resolve("store");
        FilesystemStore.keyRing(store, true, Map.of(), err);
        Files.setPosixFilePermissions(FilesystemStore.developmentKeyFile(store),
                PosixFilePermissions.fromString("rw-r--r--"));
        errBytes.reset();
        FilesystemStore.keyRing(store, true, Map.of(), err);
        assertThat(stderr()).contains("WARNING").contains("chmod 600");
    }
}
