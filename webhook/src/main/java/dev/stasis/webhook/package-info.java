/**
 * HTTP front door for a {@link dev.stasis.PersistenceHub}: reactor-netty routes that resume flows by key (with
 * Standard Webhooks signatures and idempotent redelivery), an admin API behind a bearer token and a server-rendered
 * approval inbox; mount {@link dev.stasis.webhook.StasisRoutes} on your own server or run
 * {@link dev.stasis.webhook.StasisServer}.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.webhook;
