/*
 * orderbatch.h: accepted orders on their way to the order handler, sent in
 * batches (one ZeroMQ message of order lines). Sending each order on its own
 * wakes ZeroMQ's I/O thread once per order, which costs more than the rest
 * of the request; so under load they go out together: when the batch is
 * full, or when an add finds its first order wait_ms old, or earlier, when
 * the caller flushes (an idle moment). A batch that nobody sends that way
 * (every request of a flood is refused, or the process waits in accept) is
 * sent by a timer thread once its first order is ORDERBATCH_LATE x wait_ms
 * old, whatever the process is doing meanwhile. Nothing is lost by the wait
 * that was not already at risk: the Redis journal holds every order until
 * MySQL does.
 */
#ifndef FS_ORDERBATCH_H
#define FS_ORDERBATCH_H

#include "order.h"
#include "orderq.h"

struct orderq;
struct orderbatch;

/* Orders per batch at most: one batch is one message, which the handler
 * reads whole only up to ORDERQ_LINES_MAX lines. */
#define ORDERBATCH_MAX 64
_Static_assert(ORDERBATCH_MAX <= ORDERQ_LINES_MAX, "a batch must fit one queue message");
/* The timer's deadline in multiples of wait_ms (see above): small enough
 * that a batch nobody sends still leaves within a few ms, large enough
 * that under load the timer wakes far less often than batches go out. */
#define ORDERBATCH_LATE 4

/* A batch sending to q (borrowed; may be NULL: sends then fail and the
 * journal keeps the orders), with its timer thread. Never NULL. */
struct orderbatch *orderbatch_open(struct orderq *q, int wait_ms);
/* Adds o; sends the batch at once when it is full or its first order is
 * wait_ms old. */
void orderbatch_add(struct orderbatch *b, const struct order *o);
/* Adds a line of another kind the handler reads (a rain grab, rain.h):
 * len < ORDER_LINE_MAX bytes, no newline. */
void orderbatch_add_line(struct orderbatch *b, const char *line, size_t len);
/* Sends what the batch holds now, if anything. */
void orderbatch_flush(struct orderbatch *b);
/* 1 when the batch holds orders not sent yet. */
int orderbatch_pending(struct orderbatch *b);
/* Sends what is left, stops the timer and frees b (NULL is fine). */
void orderbatch_close(struct orderbatch *b);

#endif
