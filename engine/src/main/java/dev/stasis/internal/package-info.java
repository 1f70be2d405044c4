/**
 * Implementation details of the engine: the run context and replay, the state codec, schema support.
 * No compatibility guarantee: anything here may change in any release.
 */
@NullMarked
package dev.stasis.internal;

import org.jspecify.annotations.NullMarked;
