package dev.stasis.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResumeKeysTest {

  @Test
  void shouldGenerateKeysWithPrefixAnd43Base64UrlCharacters() {
    for (int i = 0; i < 200; i++) {
      String key = ResumeKeys.generate();

      assertThat(key).startsWith(ResumeKeys.PREFIX).hasSize(4 + 43);
      assertThat(key).matches("sk1_[A-Za-z0-9_-]{43}");
      assertThat(ResumeKeys.isWellFormed(key)).isTrue();
      assertThat(Base64.getUrlDecoder().decode(key.substring(4))).hasSize(32);
    }
  }

  @Test
  void shouldGenerateUniqueKeys() {
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < 20_000; i++) {
      keys.add(ResumeKeys.generate());
    }

    assertThat(keys).hasSize(20_000);
  }

  @Test
  void shouldHashToTheLowercaseHexSha256OfTheUtf8Bytes() throws Exception {
    String key = ResumeKeys.generate();
    String expected =
        HexFormat.of()
            .formatHex(
                MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));

    assertThat(ResumeKeys.hash(key)).isEqualTo(expected).hasSize(64).matches("[0-9a-f]{64}");
  }

  @Test
  void shouldHashKnownValues() {
    // FIPS 180-2 example "abc", and the SHA-256 of the empty string.
    assertThat(ResumeKeys.hash("abc"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assertThat(ResumeKeys.hash(""))
        .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void shouldHashMalformedKeysUsingUtf8() throws Exception {
    String malformed = "sk1_not a key ✓ ключ";
    String expected =
        HexFormat.of()
            .formatHex(
                MessageDigest.getInstance("SHA-256")
                    .digest(malformed.getBytes(StandardCharsets.UTF_8)));

    assertThat(ResumeKeys.hash(malformed)).isEqualTo(expected);
  }

  @Test
  void shouldGiveDifferentHashesForDifferentKeys() {
    assertThat(ResumeKeys.hash(ResumeKeys.generate()))
        .isNotEqualTo(ResumeKeys.hash(ResumeKeys.generate()));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "sk1_",
        "sk2_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "SK1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
        " sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "xsk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAé"
      })
  void shouldRejectMalformedKeys(String key) {
    assertThat(ResumeKeys.isWellFormed(key)).isFalse();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "sk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk1_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"
      })
  void shouldAcceptWellFormedKeys(String key) {
    assertThat(ResumeKeys.isWellFormed(key)).isTrue();
  }

  @Test
  void shouldRedactToPrefixHashAndTwelveHexCharacters() {
    String key = ResumeKeys.generate();

    String redacted = ResumeKeys.redact(key);

    assertThat(redacted)
        .matches("sk1_#[0-9a-f]{12}")
        .isEqualTo("sk1_#" + ResumeKeys.hash(key).substring(0, 12))
        .isEqualTo(ResumeKeys.redact(key));
  }

  @Test
  void shouldNeverRevealTheKeyWhenRedacting() {
    for (int i = 0; i < 500; i++) {
      String key = ResumeKeys.generate();
      String secret = key.substring(ResumeKeys.PREFIX.length());

      String redacted = ResumeKeys.redact(key);

      assertThat(redacted).doesNotContain(key).doesNotContain(secret);
      // No run of 6 or more characters of the secret part shows up either.
      for (int start = 0; start + 6 <= secret.length(); start++) {
        assertThat(redacted).doesNotContain(secret.substring(start, start + 6));
      }
    }
  }

  @Test
  void shouldRedactMalformedKeysToo() {
    assertThat(ResumeKeys.redact("hunter2")).matches("sk1_#[0-9a-f]{12}").doesNotContain("hunter2");
  }
}
