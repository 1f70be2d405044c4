package dev.stasis.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeyRingTest {

  @TempDir Path dir;

  private static byte[] key(int fill) {
    byte[] key = new byte[32];
    Arrays.fill(key, (byte) fill);
    key[0] = 1; // not all equal, so encodings are distinctive
    return key;
  }

  private static String b64(byte[] key) {
    return Base64.getEncoder().encodeToString(key);
  }

  private static String b64Url(byte[] key) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key);
  }

  /** Every textual form of the key that could leak into a message. */
  private static void assertNoKeyMaterial(String text, byte[]... keys) {
    for (byte[] key : keys) {
      assertThat(text)
          .doesNotContain(b64(key))
          .doesNotContain(b64(key).substring(0, 20))
          .doesNotContain(b64Url(key).substring(0, 20))
          .doesNotContain(HexFormat.of().formatHex(key).substring(0, 20));
    }
  }

  // ---- builder ----------------------------------------------------------------------------

  @Test
  void shouldBuildARingWhoseDefaultPrimaryIsTheFirstKey() {
    KeyRing ring = KeyRing.builder().add("k1", key(1)).add("k2", key(2)).build();

    assertThat(ring.primaryKeyId()).isEqualTo("k1");
    assertThat(ring.primaryKey().getEncoded()).isEqualTo(key(1));
    assertThat(ring.primaryKey().getAlgorithm()).isEqualTo("AES");
    assertThat(ring.keyIds()).containsExactly("k1", "k2");
    assertThat(ring.key("k2")).map(SecretKey::getEncoded).contains(key(2));
    assertThat(ring.key("k3")).isEmpty();
  }

  @Test
  void shouldUseTheChosenPrimary() {
    KeyRing ring = KeyRing.builder().add("k1", key(1)).primary("k2").add("k2", key(2)).build();

    assertThat(ring.primaryKeyId()).isEqualTo("k2");
    assertThat(ring.primaryKey().getEncoded()).isEqualTo(key(2));
  }

  @Test
  void shouldCopyTheKeyBytes() {
    byte[] bytes = key(1);
    KeyRing ring = KeyRing.builder().add("k1", bytes).build();
    Arrays.fill(bytes, (byte) 0);

    assertThat(ring.primaryKey().getEncoded()).isEqualTo(key(1));
  }

  @Test
  void shouldExposeAnUnmodifiableSetOfIds() {
    KeyRing ring = KeyRing.builder().add("k1", key(1)).build();

    assertThatThrownBy(() -> ring.keyIds().add("k2"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "has space", "a/b", "a:b", "a=b", "ключ", "123456789012345678901234567890123"})
  void shouldRejectInvalidKeyIds(String id) {
    assertThatThrownBy(() -> KeyRing.builder().add(id, key(1)))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("[A-Za-z0-9._-]{1,32}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "K-1", "key_2026.01", "12345678901234567890123456789012"})
  void shouldAcceptValidKeyIds(String id) {
    assertThat(KeyRing.builder().add(id, key(1)).build().primaryKeyId()).isEqualTo(id);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 16, 31, 33, 64})
  void shouldRejectKeysThatAreNot32Bytes(int length) {
    assertThatThrownBy(() -> KeyRing.builder().add("k1", new byte[length]))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("32 bytes")
        .hasMessageContaining("is " + length + " bytes");
  }

  @Test
  void shouldRejectDuplicateIds() {
    KeyRing.Builder builder = KeyRing.builder().add("k1", key(1));

    assertThatThrownBy(() -> builder.add("k1", key(2)))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("Duplicate key id 'k1'");
  }

  @Test
  void shouldRejectAPrimaryThatIsNotInTheRing() {
    KeyRing.Builder builder = KeyRing.builder().add("k1", key(1)).primary("k9");

    assertThatThrownBy(builder::build)
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("'k9'")
        .hasMessageContaining("[k1]");
  }

  @Test
  void shouldRejectAnEmptyRing() {
    assertThatThrownBy(() -> KeyRing.builder().build())
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("at least one key");
  }

  @Test
  void shouldListIdsAndPrimaryButNoKeyMaterialInToString() {
    KeyRing ring = KeyRing.builder().add("k1", key(1)).add("k2", key(2)).primary("k2").build();

    String text = ring.toString();

    assertThat(text).isEqualTo("KeyRing[primary=k2, keyIds=[k1, k2]]");
    assertNoKeyMaterial(text, key(1), key(2));
  }

  // ---- generation ---------------------------------------------------------------------------

  @Test
  void shouldGenerateDistinct32ByteKeys() {
    byte[] a = KeyRing.generateKey();
    byte[] b = KeyRing.generateKey();

    assertThat(a).hasSize(32);
    assertThat(b).hasSize(32);
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void shouldGenerateAKeyLineThatLoadsFromTheEnvironment() {
    String line = KeyRing.generateKeyLine("prod-1");

    assertThat(line).matches("prod-1:[A-Za-z0-9+/]{43}=");
    KeyRing ring = KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, line));
    assertThat(ring.primaryKeyId()).isEqualTo("prod-1");
    assertThat(ring.primaryKey().getEncoded())
        .isEqualTo(Base64.getDecoder().decode(line.substring("prod-1:".length())));
  }

  @Test
  void shouldRejectAnInvalidIdForAKeyLine() {
    assertThatThrownBy(() -> KeyRing.generateKeyLine("not valid"))
        .isInstanceOf(KeyRingException.class);
  }

  // ---- environment --------------------------------------------------------------------------

  @Test
  void shouldLoadKeysFromTheEnvironmentInStandardAndUrlSafeBase64() {
    byte[] k1 = KeyRing.generateKey();
    byte[] k2 = KeyRing.generateKey();
    // Encodes with '+' and '/' in standard base64, so with '-' and '_' in URL-safe base64.
    byte[] k3 = new byte[32];
    k3[0] = (byte) 0xfb;
    k3[1] = (byte) 0xff;
    k3[2] = (byte) 0xbf;
    k3[30] = (byte) 0xfe;
    k3[31] = (byte) 0xff;
    String env = "k1:" + b64(k1) + ", k2:" + b64Url(k2) + " ,k3:" + b64Url(k3) + ",";

    KeyRing ring = KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, env));

    assertThat(ring.keyIds()).containsExactly("k1", "k2", "k3");
    assertThat(ring.primaryKeyId()).isEqualTo("k1");
    assertThat(ring.key("k1")).map(SecretKey::getEncoded).contains(k1);
    assertThat(ring.key("k2")).map(SecretKey::getEncoded).contains(k2);
    assertThat(ring.key("k3")).map(SecretKey::getEncoded).contains(k3);
    assertThat(b64(k3)).contains("+").contains("/");
    assertThat(b64Url(k3)).contains("-").contains("_");
  }

  @Test
  void shouldLetThePrimaryVariableChooseThePrimary() {
    String env = "k1:" + b64(key(1)) + ",k2:" + b64(key(2));

    KeyRing ring =
        KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, env, KeyRing.ENV_PRIMARY, "k2"));

    assertThat(ring.primaryKeyId()).isEqualTo("k2");
    assertThat(ring.primaryKey().getEncoded()).isEqualTo(key(2));
  }

  @Test
  void shouldRejectAPrimaryVariableNamingAnUnknownKey() {
    String env = "k1:" + b64(key(1));

    assertThatThrownBy(
            () -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, env, KeyRing.ENV_PRIMARY, "k7")))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining(KeyRing.ENV_PRIMARY)
        .hasMessageContaining("'k7'");
  }

  @Test
  void shouldLoadTheKeyFileNamedInTheEnvironment() throws IOException {
    Path file = dir.resolve("keys");
    Files.writeString(file, "a:" + b64(key(1)) + "\nb:" + b64(key(2)) + "\n");

    KeyRing ring = KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEY_FILE, file.toString()));

    assertThat(ring.keyIds()).containsExactly("a", "b");
    assertThat(ring.primaryKeyId()).isEqualTo("a");
  }

  @Test
  void shouldLetThePrimaryVariableOverrideTheKeyFile() throws IOException {
    Path file = dir.resolve("keys");
    Files.writeString(file, "primary=a\na:" + b64(key(1)) + "\nb:" + b64(key(2)) + "\n");

    KeyRing ring =
        KeyRing.fromEnvironment(
            Map.of(KeyRing.ENV_KEY_FILE, file.toString(), KeyRing.ENV_PRIMARY, "b"));

    assertThat(ring.primaryKeyId()).isEqualTo("b");
  }

  @Test
  void shouldPreferTheKeysVariableOverTheKeyFile() {
    Path missing = dir.resolve("does-not-exist");

    KeyRing ring =
        KeyRing.fromEnvironment(
            Map.of(
                KeyRing.ENV_KEYS, "env:" + b64(key(1)), KeyRing.ENV_KEY_FILE, missing.toString()));

    assertThat(ring.keyIds()).containsExactly("env");
  }

  @Test
  void shouldTreatABlankKeysVariableAsUnset() throws IOException {
    Path file = dir.resolve("keys");
    Files.writeString(file, "file:" + b64(key(1)) + "\n");

    KeyRing ring =
        KeyRing.fromEnvironment(
            Map.of(KeyRing.ENV_KEYS, "  ", KeyRing.ENV_KEY_FILE, file.toString()));

    assertThat(ring.keyIds()).containsExactly("file");
  }

  @Test
  void shouldExplainHowToConfigureAKeyWhenNoneIsConfigured() {
    assertThatThrownBy(() -> KeyRing.fromEnvironment(Map.of("PATH", "/usr/bin")))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("STASIS_KEYS")
        .hasMessageContaining("STASIS_KEY_FILE")
        .hasMessageContaining("STASIS_PRIMARY_KEY")
        .hasMessageContaining("KeyRing.generateKeyLine")
        .hasMessageContaining("id:base64key");
  }

  @Test
  void shouldRejectAKeysVariableWithoutKeys() {
    assertThatThrownBy(() -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, " , ,")))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("holds no keys");
  }

  @Test
  void shouldNotEchoABadKeyInTheError() {
    byte[] shortKey = Arrays.copyOf(key(3), 24);
    String notBase64 = "k1:" + b64(key(3)).replace('A', '*');
    String swapped = b64(key(4)) + ":k1";
    String noId = b64(key(5));

    assertThatThrownBy(
            () -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, "k1:" + b64(shortKey))))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("STASIS_KEYS entry 1")
        .hasMessageContaining("is 24 bytes")
        .satisfies(e -> assertNoKeyMaterial(e.getMessage(), shortKey));
    assertThatThrownBy(() -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, notBase64)))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("not valid base64")
        .hasMessageNotContaining("*")
        .hasNoCause()
        .satisfies(e -> assertNoKeyMaterial(e.getMessage(), key(3)));
    assertThatThrownBy(
            () ->
                KeyRing.fromEnvironment(
                    Map.of(KeyRing.ENV_KEYS, "ok:" + b64(key(1)) + "," + swapped)))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("STASIS_KEYS entry 2")
        .hasMessageContaining("invalid key id")
        .satisfies(e -> assertNoKeyMaterial(e.getMessage(), key(4)));
    assertThatThrownBy(() -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, noId)))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("expected id:base64key")
        .satisfies(e -> assertNoKeyMaterial(e.getMessage(), key(5)));
  }

  // ---- key file -----------------------------------------------------------------------------

  @Test
  void shouldParseAKeyFileWithCommentsBlankLinesAndPrimary() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(
        file,
        "# Stasis keys\r\n"
            + "\r\n"
            + "  old : "
            + b64(key(1))
            + "  \r\n"
            + "   # rotated in 2026\n"
            + "new:"
            + b64Url(key(2))
            + "\n"
            + "primary = new\n"
            + "\n");

    KeyRing ring = KeyRing.fromFile(file);

    assertThat(ring.keyIds()).containsExactly("old", "new");
    assertThat(ring.primaryKeyId()).isEqualTo("new");
    assertThat(ring.key("old")).map(SecretKey::getEncoded).contains(key(1));
    assertThat(ring.primaryKey().getEncoded()).isEqualTo(key(2));
  }

  @Test
  void shouldMakeTheFirstKeyOfAFilePrimaryByDefault() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "b:" + b64(key(2)) + "\na:" + b64(key(1)) + "\n");

    assertThat(KeyRing.fromFile(file).primaryKeyId()).isEqualTo("b");
  }

  @Test
  void shouldReportTheFileAndLineOfAnError() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "# header\nk1:" + b64(key(1)) + "\nk2 " + b64(key(2)) + "\n");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("line 3")
        .hasMessageContaining("expected id:base64key or primary=id")
        .satisfies(e -> assertNoKeyMaterial(e.getMessage(), key(1), key(2)));
  }

  @Test
  void shouldRejectDuplicateIdsInAFile() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "k1:" + b64(key(1)) + "\nk1:" + b64(key(2)) + "\n");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("line 2")
        .hasMessageContaining("Duplicate key id 'k1'");
  }

  @Test
  void shouldRejectAFilePrimaryThatIsNotInTheFile() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "primary=k2\nk1:" + b64(key(1)) + "\n");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("line 1")
        .hasMessageContaining("'k2'");
  }

  @Test
  void shouldRejectTwoPrimaryLines() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "primary=k1\nk1:" + b64(key(1)) + "\nprimary=k1\n");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("line 3")
        .hasMessageContaining("second primary= line");
  }

  @Test
  void shouldRejectAFileWithoutKeys() throws IOException {
    Path file = dir.resolve("stasis.keys");
    Files.writeString(file, "# nothing yet\n\n");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("holds no keys");
  }

  @Test
  void shouldRejectAMissingFile() {
    Path file = dir.resolve("missing.keys");

    assertThatThrownBy(() -> KeyRing.fromFile(file))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("does not exist")
        .hasMessageContaining(file.toString());
    assertThatThrownBy(() -> KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEY_FILE, file.toString())))
        .isInstanceOf(KeyRingException.class)
        .hasMessageContaining("does not exist");
  }

  // ---- development key file -----------------------------------------------------------------

  @Test
  void shouldCreateADevelopmentKeyFileOwnerReadableOnly() throws IOException {
    Path file = dir.resolve("nested/dirs/dev.keys");

    KeyRing.DevelopmentKey created = KeyRing.loadOrCreateDevelopmentKeyFile(file);

    assertThat(created.created()).isTrue();
    assertThat(created.file()).isEqualTo(file);
    assertThat(file).isRegularFile();
    assertThat(Files.getPosixFilePermissions(file))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(created.keyRing().keyIds()).hasSize(1);
    assertThat(created.keyRing().primaryKey().getEncoded()).hasSize(32);
    assertThat(KeyRing.fromFile(file).primaryKey().getEncoded())
        .isEqualTo(created.keyRing().primaryKey().getEncoded());
    assertThat(Files.readString(file, StandardCharsets.UTF_8)).contains("DEVELOPMENT");
  }

  @Test
  void shouldReloadAnExistingDevelopmentKeyFileUnchanged() throws IOException {
    Path file = dir.resolve("dev.keys");
    KeyRing.DevelopmentKey first = KeyRing.loadOrCreateDevelopmentKeyFile(file);
    List<String> contentBefore = Files.readAllLines(file);

    KeyRing.DevelopmentKey second = KeyRing.loadOrCreateDevelopmentKeyFile(file);

    assertThat(first.created()).isTrue();
    assertThat(second.created()).isFalse();
    assertThat(second.keyRing().primaryKeyId()).isEqualTo(first.keyRing().primaryKeyId());
    assertThat(second.keyRing().primaryKey().getEncoded())
        .isEqualTo(first.keyRing().primaryKey().getEncoded());
    assertThat(Files.readAllLines(file)).isEqualTo(contentBefore);
    assertThat(Files.getPosixFilePermissions(file))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void shouldCreateDifferentKeysForDifferentDevelopmentFiles() {
    KeyRing a = KeyRing.loadOrCreateDevelopmentKeyFile(dir.resolve("a.keys")).keyRing();
    KeyRing b = KeyRing.loadOrCreateDevelopmentKeyFile(dir.resolve("b.keys")).keyRing();

    assertThat(a.primaryKey().getEncoded()).isNotEqualTo(b.primaryKey().getEncoded());
  }

  @Test
  void shouldNotRevealTheDevelopmentKeyInToString() throws IOException {
    KeyRing.DevelopmentKey dev = KeyRing.loadOrCreateDevelopmentKeyFile(dir.resolve("dev.keys"));

    assertNoKeyMaterial(dev.toString(), dev.keyRing().primaryKey().getEncoded());
  }
}
