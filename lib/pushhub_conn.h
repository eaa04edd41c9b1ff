/*
 * pushhub_conn.h: one WebSocket connection of the hub: its buffers, parser and
 * the slow-reader rule (types in pushhub.h).
 */
#ifndef FS_PUSHHUB_CONN_H
#define FS_PUSHHUB_CONN_H

#include "pushhub.h"

struct ph_conn *pushhub_conn_new(struct pushhub *h, int fd);
/* Closes and frees c at once (removes it from the user map). */
void pushhub_conn_close(struct pushhub *h, struct ph_conn *c);
/* Queues len bytes for c; writes what the socket takes now. A socket whose
 * backlog would pass PH_OUT_MAX is closed (the slow reader). FS_OK, or
 * FS_ERR when c was closed (c is then freed). */
int pushhub_conn_send(struct pushhub *h, struct ph_conn *c, const char *s, size_t len);
/* Sends s, then closes after it is written (or after PH_CLOSE_MS). */
void pushhub_conn_finish(struct pushhub *h, struct ph_conn *c, const char *s);
/* Reads what the socket has and handles every complete message. */
void pushhub_conn_readable(struct pushhub *h, struct ph_conn *c);
void pushhub_conn_writable(struct pushhub *h, struct ph_conn *c);
/* Feeds n bytes of input to c's parser (pushhub_conn_readable's core, for
 * tests). FS_OK, or FS_ERR when c was closed. */
int pushhub_conn_feed(struct pushhub *h, struct ph_conn *c, const char *buf, size_t n);

#endif
