/*
 * pushhub_msg.h: the client messages of the push channel (API.md "Push channel").
 */
#ifndef FS_PUSHHUB_MSG_H
#define FS_PUSHHUB_MSG_H

#include "pushhub.h"

/* Handles one parsed client message. FS_OK, or FS_ERR when c was closed. */
int pushhub_msg_handle(struct pushhub *h, struct ph_conn *c, json_object *msg);
/* Sends {"type":"error","error":code} and, when close, closes after it. */
int pushhub_msg_error(struct pushhub *h, struct ph_conn *c, const char *code, int close);
/* Sets the admin token to compare against (hashed: compared in constant time). */
void pushhub_msg_set_admin(struct pushhub *h, const char *token);

#endif
