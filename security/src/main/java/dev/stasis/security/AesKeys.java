package dev.stasis.security;

import java.util.Arrays;
import java.util.Objects;
import javax.crypto.SecretKey;

/** Argument checks shared by the {@link AeadCipher} implementations. */
final class AesKeys {

  private AesKeys() {}

  /**
   * Returns a copy of the raw bytes of a 32-byte AES key; the caller clears it after use.
   *
   * @throws IllegalArgumentException when the key is not an extractable 32-byte AES key
   */
  static byte[] rawAes256(SecretKey key) {
    Objects.requireNonNull(key, "key");
    if (!"AES".equalsIgnoreCase(key.getAlgorithm())) {
      throw new IllegalArgumentException(
          "AES-256-GCM needs an AES key, not a " + key.getAlgorithm() + " key");
    }
    byte[] raw = key.getEncoded();
    if (raw == null) {
      throw new IllegalArgumentException("AES-256-GCM needs a key whose bytes can be extracted");
    }
    if (raw.length != KeyRing.KEY_LENGTH) {
      int length = raw.length;
      Arrays.fill(raw, (byte) 0);
      throw new IllegalArgumentException(
          "AES-256-GCM needs a " + KeyRing.KEY_LENGTH + "-byte key, not " + length + " bytes");
    }
    return raw;
  }

  /** Checks the arrays common to encryption and decryption. */
  static void checkArguments(byte[] nonce, byte[] aad, byte[] data) {
    Objects.requireNonNull(nonce, "nonce");
    Objects.requireNonNull(aad, "aad");
    Objects.requireNonNull(data, "data");
    if (nonce.length != AeadCipher.NONCE_LENGTH) {
      throw new IllegalArgumentException(
          "AES-GCM nonce must be " + AeadCipher.NONCE_LENGTH + " bytes, not " + nonce.length);
    }
  }

  /** The exception for a ciphertext that does not authenticate. */
  static EnvelopeIntegrityException authenticationFailed(String implementation) {
    return new EnvelopeIntegrityException(
        "AES-GCM authentication failed ("
            + implementation
            + "): wrong key, nonce or associated data, or the ciphertext was modified or"
            + " truncated");
  }
}
