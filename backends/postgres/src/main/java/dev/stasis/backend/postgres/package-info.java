/**
 * A {@link dev.stasis.spi.StateStore} on PostgreSQL through r2dbc-postgresql and r2dbc-pool: {@link
 * dev.stasis.backend.postgres.PostgresStore}. Everything else in the package is an implementation detail.
 */
@NullMarked
package dev.stasis.backend.postgres;

import org.jspecify.annotations.NullMarked;
