/*
 * pub.h: order events for the push hub (mq/push_hub). The programs that
 * change an order's state publish it here; the hub sends it to that user's
 * open pages. Best effort by design: a lost event only means the page goes
 * on polling /api/order-status, so publishing never waits and never fails
 * the caller (events are dropped when the hub is away and the small buffer
 * is full).
 *
 * Transport: ZeroMQ PUSH (every publisher connects) to the hub's PULL (it
 * binds) at conf push_events (default ipc://<state_dir>/push-events.ipc).
 * Not PUB/SUB: a PUB drops whatever it sends before the subscription
 * handshake is done, which would lose every event of a short-lived cron job.
 *
 * Wire format, one event a line ("\n"), several lines a message:
 *   <user_id> {"type":"order",...the order-status object...}
 */
#ifndef FS_PUB_H
#define FS_PUB_H

#include "order.h"

/* The longest event line the hub accepts. */
#define PUB_LINE_MAX 512

/* Publishes o's current state now (one message). */
void pub_order(const struct order *o);
/* Publishes the n orders now, in as few messages as fit. */
void pub_orders(const struct order *orders, int n);

/* For the hot path: o joins a batch that goes out when it holds
 * PUB_BATCH events, when its first is PUB_WAIT_MS old (checked at the next
 * call and at pub_pending(), which the caller asks before each request),
 * or at pub_flush(), which the caller runs when it is idle. Each message
 * wakes ZeroMQ's I/O threads here and in the hub: under load the wait makes
 * it a dozen events a message, where 2 ms made it two or three and cost the
 * order path some 10% (docs/PERF.md); 10 ms is far inside the page's 1 s. */
#define PUB_BATCH 64
#define PUB_WAIT_MS 10
void pub_order_later(const struct order *o);
/* 1 when events wait in the batch (after sending one that is due). */
int pub_pending(void);
void pub_flush(void);

/* Formats o's event line (with its "\n") into buf. Returns the length, or
 * 0 when it does not fit. */
size_t pub_format(const struct order *o, char *buf, size_t size);

/* Asks the hub whether it is up: connects to its socket (conf push_socket,
 * default <state_dir>/push.sock) and waits at most timeout_ms for its
 * answer to {"type":"health"}. FS_OK or FS_ERR. */
int pub_hub_check(int timeout_ms);

/* The hub's socket path and event endpoint from the configuration. */
const char *pub_hub_socket(void);
const char *pub_events_endpoint(void);

#endif
