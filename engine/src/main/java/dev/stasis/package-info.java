/**
 * The Stasis API: define {@link dev.stasis.Flow flows} that suspend at {@link dev.stasis.AwaitInput waits},
 * and run them through a {@link dev.stasis.PersistenceHub}, which seals their state into a pluggable store.
 */
@NullMarked
package dev.stasis;

import org.jspecify.annotations.NullMarked;
