/*
 * pushhub_users.h: the map from user id to the hub's sockets, and the order events
 * fanned out over it.
 */
#ifndef FS_PUSHHUB_USERS_H
#define FS_PUSHHUB_USERS_H

#include "pushhub.h"

void pushhub_users_add(struct pushhub *h, struct ph_conn *c);
void pushhub_users_remove(struct pushhub *h, struct ph_conn *c);
/* Sends the event line (with its newline) to every socket of uid.
 * Returns how many got it. */
int pushhub_users_send(struct pushhub *h, int64_t uid, const char *line, size_t len);
/* Handles one ZeroMQ message of event lines "<uid> <json>\n". */
void pushhub_users_events(struct pushhub *h, const char *msg, size_t len);

#endif
