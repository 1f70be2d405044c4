package dev.stasis.security;

import javax.crypto.SecretKey;

/**
 * The AES-256-GCM primitive (96-bit nonce, 128-bit tag) behind {@link EnvelopeSealer}.
 *
 * <p>Two interchangeable implementations produce identical bytes: {@link #jce()} (the default,
 * faster where the JVM uses AES-NI) and {@link #bouncyCastle()} (BouncyCastle's lightweight API,
 * with no JCE provider registration). Both are stateless and thread-safe and do no I/O.
 *
 * <p>Never encrypt twice with the same key and nonce: GCM loses both confidentiality and
 * integrity. Random 96-bit nonces are safe for up to about 2<sup>32</sup> messages per key.
 */
public interface AeadCipher {

  /** Length of the nonce in bytes (96 bits). */
  int NONCE_LENGTH = 12;

  /** Length of the authentication tag in bytes (128 bits). */
  int TAG_LENGTH = 16;

  /**
   * Encrypts and authenticates.
   *
   * @param key an AES key of exactly 32 bytes
   * @param nonce 12 bytes, never reused with the same key
   * @param aad associated data, authenticated but not encrypted (may be empty)
   * @param plaintext the data to encrypt (may be empty)
   * @return the ciphertext followed by the 16-byte tag
   * @throws IllegalArgumentException when the key is not a 32-byte AES key or the nonce is not 12
   *     bytes
   */
  byte[] encrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] plaintext);

  /**
   * Verifies and decrypts.
   *
   * @param key an AES key of exactly 32 bytes
   * @param nonce the 12-byte nonce used to encrypt
   * @param aad the associated data used to encrypt
   * @param ciphertextWithTag the ciphertext followed by the 16-byte tag
   * @return the plaintext
   * @throws EnvelopeIntegrityException when the tag does not verify (wrong key, nonce, aad, or
   *     modified or truncated ciphertext)
   * @throws IllegalArgumentException when the key is not a 32-byte AES key or the nonce is not 12
   *     bytes
   */
  byte[] decrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] ciphertextWithTag);

  /**
   * Names the implementation.
   *
   * @return {@code "JCE"} or {@code "BouncyCastle"}
   */
  String name();

  /**
   * Returns the implementation on {@code javax.crypto.Cipher} {@code "AES/GCM/NoPadding"}; the
   * default.
   *
   * @return the shared JCE implementation
   */
  static AeadCipher jce() {
    return JceAeadCipher.INSTANCE;
  }

  /**
   * Returns the implementation on BouncyCastle's lightweight {@code GCMBlockCipher} with its
   * {@code AESEngine}, used directly (no JCE provider is registered).
   *
   * @return the shared BouncyCastle implementation
   */
  static AeadCipher bouncyCastle() {
    return BouncyCastleAeadCipher.INSTANCE;
  }
}
