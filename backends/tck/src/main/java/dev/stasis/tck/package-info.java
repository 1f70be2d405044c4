/**
 * The contract suite every store passes: extend {@link dev.stasis.tck.AbstractStateStoreContractTest}, point it at a
 * real server, and give it a side channel that reads what is really stored.
 */
@NullMarked
package dev.stasis.tck;

import org.jspecify.annotations.NullMarked;
