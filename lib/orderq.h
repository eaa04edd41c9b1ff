/*
 * orderq.h: the order queue, ZeroMQ PUSH (FastCGI programs, connect) to PULL
 * (order handlers, bind). Not durable: the Redis journal is (see kv.h).
 */
#ifndef FS_ORDERQ_H
#define FS_ORDERQ_H

#include <stddef.h>

struct orderq;

/* The PUSH side, connected to every endpoint of the comma-separated list
 * (one per order handler). Never blocks a request: sends are non-blocking.
 * NULL only when ZeroMQ itself fails. */
struct orderq *orderq_open_push(const char *endpoint);
/* The PULL side, bound to endpoint. NULL when the bind fails. */
struct orderq *orderq_open_pull(const char *endpoint);
void orderq_close(struct orderq *q);

/* A message carries one order line, or several separated by newlines:
 * ORDERQ_LINES_MAX at most. The handler reads that many from one message
 * (the rest it drops, the journal keeps them); the senders' batches stay
 * within it (orderbatch.h's ORDERBATCH_MAX). */
#define ORDERQ_LINES_MAX 128

/* Sends one message without waiting. FS_OK, or FS_ERR when the queue cannot
 * take it now (no handler and the buffer full). */
int orderq_push(struct orderq *q, const char *msg, size_t len);

/* Receives one message into buf (NUL-terminated). Waits at most timeout_ms
 * (0: not at all, -1: forever). Returns its length, 0 when none came, -1 on
 * an error or an interrupting signal. */
int orderq_pull(struct orderq *q, char *buf, size_t size, int timeout_ms);

#endif
