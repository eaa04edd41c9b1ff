/*
 * pushhub_stats.h: the hub's stats thread: per-activity counts for the admin stream.
 */
#ifndef FS_PUSHHUB_STATS_H
#define FS_PUSHHUB_STATS_H

#include "pushhub.h"

/* Starts the stats thread; it signals results on the returned eventfd. */
struct ph_stats *pushhub_stats_start(int *efd);
void pushhub_stats_stop(struct ph_stats *s);
/* Tells the thread which activities are watched (n <= PH_STATS_MAX). */
void pushhub_stats_want(struct ph_stats *s, const int64_t *aids, int n);
/* Sends the finished stats lines to the sockets that watch them. */
void pushhub_stats_deliver(struct pushhub *h);

#endif
