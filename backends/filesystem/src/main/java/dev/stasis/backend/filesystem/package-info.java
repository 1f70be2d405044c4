/**
 * The filesystem store: Stasis records in one local directory, written durably (temp file, fsync, atomic rename)
 * and changed under per-record file locks, so that threads and processes on one host can share it.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.backend.filesystem;
