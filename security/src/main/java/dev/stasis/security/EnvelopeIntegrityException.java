package dev.stasis.security;

/**
 * Thrown when an envelope cannot be opened: it is not an envelope, has an unsupported format
 * version, names a key that is not in the ring, is truncated, or fails authentication (a changed
 * byte, the wrong associated data, or a record swapped from elsewhere). Messages never contain key
 * material or plaintext.
 */
public final class EnvelopeIntegrityException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message why the envelope was rejected; must not contain key material or plaintext
   */
  public EnvelopeIntegrityException(String message) {
    super(message);
  }

  /**
   * Creates the exception with a cause.
   *
   * @param message why the envelope was rejected; must not contain key material or plaintext
   * @param cause the underlying failure
   */
  public EnvelopeIntegrityException(String message, Throwable cause) {
    super(message, cause);
  }
}
