package dev.stasis.security;

import java.util.Objects;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * HKDF-SHA256 (RFC 5869), on BouncyCastle's {@code HKDFBytesGenerator}, for deriving keys from a
 * master key. Thread-safe; does no I/O.
 */
public final class Hkdf {

  private static final int HASH_LENGTH = 32;

  /** RFC 5869: the output is at most 255 hash lengths. */
  private static final int MAX_LENGTH = 255 * HASH_LENGTH;

  private Hkdf() {}

  /**
   * Derives key material: HKDF-Extract with {@code salt}, then HKDF-Expand with {@code info}.
   *
   * @param inputKeyMaterial the secret to derive from
   * @param salt the salt; an empty salt means 32 zero bytes, as RFC 5869 says
   * @param info the context that separates derived keys (for example a purpose label; may be
   *     empty)
   * @param length the number of bytes to derive, 1..8160
   * @return {@code length} bytes of output key material
   * @throws IllegalArgumentException when {@code length} is outside 1..8160
   */
  public static byte[] derive(byte[] inputKeyMaterial, byte[] salt, byte[] info, int length) {
    Objects.requireNonNull(inputKeyMaterial, "inputKeyMaterial");
    Objects.requireNonNull(salt, "salt");
    Objects.requireNonNull(info, "info");
    if (length < 1 || length > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "HKDF-SHA256 output length must be within 1.." + MAX_LENGTH + ", not " + length);
    }
    HKDFBytesGenerator generator = new HKDFBytesGenerator(new SHA256Digest());
    generator.init(new HKDFParameters(inputKeyMaterial, salt, info));
    byte[] output = new byte[length];
    generator.generateBytes(output, 0, length);
    return output;
  }
}
