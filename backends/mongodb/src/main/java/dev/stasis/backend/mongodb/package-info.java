/**
 * A {@link dev.stasis.spi.StateStore} on MongoDB ({@link dev.stasis.backend.mongodb.MongoStore}): one document per
 * flow, changed only by single-document atomic operations, on the reactive streams driver.
 */
@NullMarked
package dev.stasis.backend.mongodb;

import org.jspecify.annotations.NullMarked;
