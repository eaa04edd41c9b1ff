/*
 * rainapi.h: what the files of the rain program share (API.md "Red-packet
 * rain"): the grab (main.c) and the reads (view.c).
 */
#ifndef FS_RAINAPI_H
#define FS_RAINAPI_H

#include <stdint.h>

#include "db_rain.h"
#include "req.h"

/* view.c */
void get_rains(struct req *r);
void get_rain(struct req *r);
void get_wallet(struct req *r);

/* The published rain rid from MySQL into *out, warming it into Redis when
 * it is live or due and cold. 1, or FS_ERR after the answer (404, 503). */
int rain_load_or_reply(struct req *r, int64_t rid, struct db_rain *out);

#endif
