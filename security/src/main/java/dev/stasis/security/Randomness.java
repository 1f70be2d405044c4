package dev.stasis.security;

import java.nio.charset.StandardCharsets;
import java.security.DrbgParameters;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;

/**
 * The one {@link SecureRandom} of this module.
 *
 * <p>A SHA-256 Hash_DRBG (NIST SP 800-90A) at 256-bit strength, seeded once from the operating
 * system when this class initialises. After that it draws no further entropy unless its reseed
 * interval is exhausted, so generating nonces and keys does not read {@code /dev/urandom} on the
 * caller's thread, unlike the default {@code NativePRNG} (which BlockHound reports as a blocking
 * {@code FileInputStream} read). The DRBG is thread-safe.
 *
 * <p>Seeding itself reads the operating system's entropy source, so it should happen during
 * start-up: {@link KeyRing} calls {@link #ensureSeeded()} when a ring is built.
 */
final class Randomness {

  /** The shared generator, already seeded. */
  static final SecureRandom RANDOM = create();

  private Randomness() {}

  private static SecureRandom create() {
    SecureRandom random;
    try {
      random =
          SecureRandom.getInstance(
              "DRBG",
              DrbgParameters.instantiation(
                  256,
                  DrbgParameters.Capability.RESEED_ONLY,
                  "stasis".getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      random = new SecureRandom();
    }
    // Instantiate (seed) now, during class initialisation, not on the first request.
    random.nextBytes(new byte[1]);
    return random;
  }

  /** Forces class initialisation, and so seeding, on the calling thread; otherwise a no-op. */
  static void ensureSeeded() {
    // Calling any static method initialises the class; RANDOM is seeded by then.
  }

  /** Returns {@code length} fresh random bytes. */
  static byte[] bytes(int length) {
    byte[] bytes = new byte[length];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
