package dev.stasis.security;

/**
 * Thrown when key configuration is missing or invalid. Stasis fails closed: it refuses to start
 * rather than run without a usable key. Messages explain what to fix and never contain key
 * material.
 */
public final class KeyRingException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what is wrong and how to fix it; must not contain key material
   */
  public KeyRingException(String message) {
    super(message);
  }

  /**
   * Creates the exception with a cause.
   *
   * @param message what is wrong and how to fix it; must not contain key material
   * @param cause the underlying failure, for example an I/O error reading a key file
   */
  public KeyRingException(String message, Throwable cause) {
    super(message, cause);
  }
}
