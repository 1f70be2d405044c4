package dev.stasis.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AeadCipherTest {

  private static final HexFormat HEX = HexFormat.of();

  // Test vectors from McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised
  // 2005, Appendix B, test cases 15 and 16 (AES-256, 96-bit IV); also used in NIST's GCM
  // validation suite.
  private static final byte[] KEY =
      HEX.parseHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  private static final byte[] IV = HEX.parseHex("cafebabefacedbaddecaf888");
  private static final String TC15_PLAINTEXT =
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
  private static final String TC15_CIPHERTEXT =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
  private static final String TC15_TAG = "b094dac5d93471bdec1a502270e3cc6c";
  private static final String TC16_PLAINTEXT =
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
  private static final String TC16_AAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
  private static final String TC16_CIPHERTEXT =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
  private static final String TC16_TAG = "76fc6ece0f4e1768cddf8853bb2d551b";

  static Stream<AeadCipher> ciphers() {
    return Stream.of(AeadCipher.jce(), AeadCipher.bouncyCastle());
  }

  static Stream<Arguments> pairs() {
    return Stream.of(
        Arguments.of(AeadCipher.jce(), AeadCipher.bouncyCastle()),
        Arguments.of(AeadCipher.bouncyCastle(), AeadCipher.jce()),
        Arguments.of(AeadCipher.jce(), AeadCipher.jce()),
        Arguments.of(AeadCipher.bouncyCastle(), AeadCipher.bouncyCastle()));
  }

  private static SecretKey aes(byte[] key) {
    return new SecretKeySpec(key, "AES");
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldMatchGcmSpecTestCase16WithAad(AeadCipher cipher) {
    byte[] sealed =
        cipher.encrypt(aes(KEY), IV, HEX.parseHex(TC16_AAD), HEX.parseHex(TC16_PLAINTEXT));

    assertThat(HEX.formatHex(sealed)).isEqualTo(TC16_CIPHERTEXT + TC16_TAG);
    assertThat(cipher.decrypt(aes(KEY), IV, HEX.parseHex(TC16_AAD), sealed))
        .isEqualTo(HEX.parseHex(TC16_PLAINTEXT));
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldMatchGcmSpecTestCase15WithoutAad(AeadCipher cipher) {
    byte[] sealed = cipher.encrypt(aes(KEY), IV, new byte[0], HEX.parseHex(TC15_PLAINTEXT));

    assertThat(HEX.formatHex(sealed)).isEqualTo(TC15_CIPHERTEXT + TC15_TAG);
    assertThat(cipher.decrypt(aes(KEY), IV, new byte[0], sealed))
        .isEqualTo(HEX.parseHex(TC15_PLAINTEXT));
  }

  @ParameterizedTest
  @MethodSource("pairs")
  void shouldInteroperate(AeadCipher encryptor, AeadCipher decryptor) {
    Random random = new Random(42);
    for (int length : new int[] {0, 1, 15, 16, 17, 31, 32, 33, 1000, 65_537}) {
      byte[] key = KeyRing.generateKey();
      byte[] nonce = new byte[12];
      random.nextBytes(nonce);
      byte[] aad = new byte[length % 50];
      random.nextBytes(aad);
      byte[] plaintext = new byte[length];
      random.nextBytes(plaintext);

      byte[] sealed = encryptor.encrypt(aes(key), nonce, aad, plaintext);

      assertThat(sealed).hasSize(length + 16);
      assertThat(decryptor.decrypt(aes(key), nonce, aad, sealed)).isEqualTo(plaintext);
      assertThat(sealed).isEqualTo(decryptor.encrypt(aes(key), nonce, aad, plaintext));
    }
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectAModifiedCiphertextOrTag(AeadCipher cipher) {
    byte[] sealed =
        cipher.encrypt(aes(KEY), IV, HEX.parseHex(TC16_AAD), HEX.parseHex(TC16_PLAINTEXT));
    for (int i = 0; i < sealed.length; i++) {
      byte[] modified = sealed.clone();
      modified[i] ^= 0x01;

      assertThatThrownBy(() -> cipher.decrypt(aes(KEY), IV, HEX.parseHex(TC16_AAD), modified))
          .as("byte %d", i)
          .isInstanceOf(EnvelopeIntegrityException.class);
    }
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectWrongAadKeyOrNonce(AeadCipher cipher) {
    byte[] aad = HEX.parseHex(TC16_AAD);
    byte[] sealed = cipher.encrypt(aes(KEY), IV, aad, HEX.parseHex(TC16_PLAINTEXT));
    byte[] otherAad = aad.clone();
    otherAad[0] ^= 0x01;
    byte[] otherKey = KEY.clone();
    otherKey[31] ^= 0x01;
    byte[] otherIv = IV.clone();
    otherIv[11] ^= 0x01;

    assertThatThrownBy(() -> cipher.decrypt(aes(KEY), IV, otherAad, sealed))
        .isInstanceOf(EnvelopeIntegrityException.class);
    assertThatThrownBy(() -> cipher.decrypt(aes(KEY), IV, new byte[0], sealed))
        .isInstanceOf(EnvelopeIntegrityException.class);
    assertThatThrownBy(() -> cipher.decrypt(aes(otherKey), IV, aad, sealed))
        .isInstanceOf(EnvelopeIntegrityException.class);
    assertThatThrownBy(() -> cipher.decrypt(aes(KEY), otherIv, aad, sealed))
        .isInstanceOf(EnvelopeIntegrityException.class);
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectTruncatedCiphertexts(AeadCipher cipher) {
    byte[] sealed = cipher.encrypt(aes(KEY), IV, new byte[0], new byte[] {1, 2, 3});
    for (int length = 0; length < sealed.length; length++) {
      byte[] truncated = Arrays.copyOf(sealed, length);

      assertThatThrownBy(() -> cipher.decrypt(aes(KEY), IV, new byte[0], truncated))
          .as("length %d", length)
          .isInstanceOf(EnvelopeIntegrityException.class);
    }
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectKeysThatAreNotAes256(AeadCipher cipher) {
    byte[] aes128 = new byte[16];

    assertThatThrownBy(() -> cipher.encrypt(aes(aes128), IV, new byte[0], new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("32-byte");
    assertThatThrownBy(
            () ->
                cipher.encrypt(
                    new SecretKeySpec(KEY, "HmacSHA256"), IV, new byte[0], new byte[1]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectNoncesThatAreNot12Bytes(AeadCipher cipher) {
    assertThatThrownBy(() -> cipher.encrypt(aes(KEY), new byte[8], new byte[0], new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("12 bytes");
    assertThatThrownBy(() -> cipher.decrypt(aes(KEY), new byte[16], new byte[0], new byte[17]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldNameTheImplementations() {
    assertThat(AeadCipher.jce().name()).isEqualTo("JCE");
    assertThat(AeadCipher.bouncyCastle().name()).isEqualTo("BouncyCastle");
  }

  @Test
  void shouldNotCarryPlaintextInTheAuthenticationFailure() {
    byte[] plaintext = "top secret payload".getBytes(StandardCharsets.UTF_8);
    byte[] sealed = AeadCipher.jce().encrypt(aes(KEY), IV, new byte[0], plaintext);
    sealed[0] ^= 0x01;

    ciphers()
        .forEach(
            cipher ->
                assertThatThrownBy(() -> cipher.decrypt(aes(KEY), IV, new byte[0], sealed))
                    .isInstanceOf(EnvelopeIntegrityException.class)
                    .hasMessageNotContaining("secret")
                    .hasMessageContaining("authentication failed"));
  }
}
