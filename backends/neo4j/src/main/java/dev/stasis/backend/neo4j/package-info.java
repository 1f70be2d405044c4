/**
 * A {@link dev.stasis.spi.StateStore} on Neo4j: {@link dev.stasis.backend.neo4j.Neo4jStore} keeps each flow as a
 * {@code :Flow} node with its waits as {@code :Wait} nodes, written by single version-checked Cypher statements
 * through the driver's reactive sessions.
 */
@NullMarked
package dev.stasis.backend.neo4j;

import org.jspecify.annotations.NullMarked;
