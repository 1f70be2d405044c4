/**
 * A test-only launcher that runs a real Neo4j (neo4j-harness, GPL) in its own JVM for the Neo4j store's tests; it is
 * never deployed and never on a deployed module's classpath.
 */
@NullMarked
package dev.stasis.backend.neo4j.harness;

import org.jspecify.annotations.NullMarked;
