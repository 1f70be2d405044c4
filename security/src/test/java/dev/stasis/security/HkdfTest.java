package dev.stasis.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class HkdfTest {

  private static final HexFormat HEX = HexFormat.of();

  /** RFC 5869, Appendix A.1 (test case 1, SHA-256). */
  @Test
  void shouldMatchRfc5869TestCase1() {
    byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    byte[] salt = HEX.parseHex("000102030405060708090a0b0c");
    byte[] info = HEX.parseHex("f0f1f2f3f4f5f6f7f8f9");

    byte[] okm = Hkdf.derive(ikm, salt, info, 42);

    assertThat(HEX.formatHex(okm))
        .isEqualTo(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  }

  /** RFC 5869, Appendix A.3 (test case 3, SHA-256, zero-length salt and info). */
  @Test
  void shouldMatchRfc5869TestCase3WithEmptySaltAndInfo() {
    byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");

    byte[] okm = Hkdf.derive(ikm, new byte[0], new byte[0], 42);

    assertThat(HEX.formatHex(okm))
        .isEqualTo(
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  }

  @Test
  void shouldSeparateKeysByInfo() {
    byte[] ikm = KeyRing.generateKey();

    byte[] a = Hkdf.derive(ikm, new byte[0], "purpose-a".getBytes(StandardCharsets.UTF_8), 32);
    byte[] b = Hkdf.derive(ikm, new byte[0], "purpose-b".getBytes(StandardCharsets.UTF_8), 32);

    assertThat(a).hasSize(32).isNotEqualTo(b);
    assertThat(Hkdf.derive(ikm, new byte[0], "purpose-a".getBytes(StandardCharsets.UTF_8), 32))
        .isEqualTo(a);
  }

  @Test
  void shouldRejectOutOfRangeLengths() {
    byte[] ikm = KeyRing.generateKey();

    assertThatThrownBy(() -> Hkdf.derive(ikm, new byte[0], new byte[0], 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Hkdf.derive(ikm, new byte[0], new byte[0], 255 * 32 + 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Hkdf.derive(ikm, new byte[0], new byte[0], 255 * 32)).hasSize(255 * 32);
  }
}
