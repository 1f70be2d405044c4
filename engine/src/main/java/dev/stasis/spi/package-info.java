/**
 * The store SPI: what a backend implements to keep sealed flow records. A store moves sealed bytes plus a few plain
 * index fields; it never sees plaintext state and cannot skip encryption.
 */
@NullMarked
package dev.stasis.spi;

import org.jspecify.annotations.NullMarked;
