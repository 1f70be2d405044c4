/**
 * Key material and authenticated encryption for Stasis: resume keys, the key ring, and the
 * AES-256-GCM envelope that seals suspended state at rest.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.security;
