package dev.stasis.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Resume keys: the bearer secrets handed to a client so it can resume a suspended computation.
 *
 * <p>A resume key is {@value #PREFIX} followed by the unpadded base64url encoding of 32 random
 * bytes (43 characters). Only its {@linkplain #hash(String) hash} should be stored; log a key
 * only through {@link #redact(String)}. All methods are thread-safe and do no I/O.
 */
public final class ResumeKeys {

  /** The prefix of every resume key, identifying the key format (version 1). */
  public static final String PREFIX = "sk1_";

  private static final int RANDOM_BYTES = 32;
  private static final int ENCODED_LENGTH = 43;
  private static final int REDACTED_HASH_CHARS = 12;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private ResumeKeys() {}

  /**
   * Generates a new resume key: {@value #PREFIX} followed by the unpadded base64url encoding of 32
   * bytes from a {@link java.security.SecureRandom} (43 characters after the prefix).
   *
   * @return a fresh, well-formed resume key
   */
  public static String generate() {
    return PREFIX + ENCODER.encodeToString(Randomness.bytes(RANDOM_BYTES));
  }

  /**
   * Hashes a key for storage and lookup: the lowercase hex SHA-256 of the key's UTF-8 bytes.
   *
   * <p>Works for any string, including malformed keys, so a lookup with a bad key simply finds
   * nothing.
   *
   * @param key the key to hash
   * @return 64 lowercase hex characters
   */
  public static String hash(String key) {
    Objects.requireNonNull(key, "key");
    return HexFormat.of().formatHex(sha256().digest(key.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * Tells whether a string has the form of a resume key: {@value #PREFIX} followed by exactly 43
   * base64url characters ({@code A-Z a-z 0-9 - _}).
   *
   * @param key the candidate key
   * @return {@code true} when the key is well formed
   */
  public static boolean isWellFormed(String key) {
    Objects.requireNonNull(key, "key");
    if (key.length() != PREFIX.length() + ENCODED_LENGTH || !key.startsWith(PREFIX)) {
      return false;
    }
    for (int i = PREFIX.length(); i < key.length(); i++) {
      if (!isBase64UrlChar(key.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Returns a log-safe reference to a key: {@code "sk1_#"} followed by the first 12 hex characters
   * of its {@linkplain #hash(String) hash}. The same key always gives the same reference, and the
   * reference never reveals the key.
   *
   * @param key the key to refer to (need not be well formed)
   * @return the redacted reference
   */
  public static String redact(String key) {
    return PREFIX + "#" + hash(key).substring(0, REDACTED_HASH_CHARS);
  }

  private static boolean isBase64UrlChar(char c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '_';
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available in this JVM", e);
    }
  }
}
