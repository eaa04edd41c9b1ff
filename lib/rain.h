/*
 * rain.h: a red-packet rain (API.md "Red-packet rain"): its limits, a grab
 * as it travels (the line shared by the Redis journal and the ZeroMQ queue,
 * beside the order lines), and the public state names. See docs/RAIN.md.
 */
#ifndef FS_RAIN_H
#define FS_RAIN_H

#include <stddef.h>
#include <stdint.h>

/* Documented caps of POST /api/admin/rains (400 past them). */
#define RAIN_PACKETS_MAX 100000
#define RAIN_TOTAL_MAX 1000000000LL            /* ten million in cents */
#define RAIN_WINDOW_MAX_MS (7LL * 86400 * 1000) /* a rain lasts a week at most */
#define RAIN_AHEAD_MAX_MS (365LL * 86400 * 1000) /* and starts within a year */

/* One packet taken by one user; the grab id is the packet's id. */
struct rain_grab {
	int64_t grab_id;
	int64_t user_id;
	int64_t rain_id;
	int64_t amount_cents;
	int64_t created_ms;
};

#define RAIN_LINE_MAX 128

/* "R grab user rain amount created_ms" in decimal: the leading R tells a
 * grab line from an order line on the shared queue. Returns the length
 * written into buf (RAIN_LINE_MAX bytes). */
size_t rain_line_encode(const struct rain_grab *g, char buf[RAIN_LINE_MAX]);
/* Parses a line made by rain_line_encode (len bytes, need not be
 * NUL-terminated). FS_OK or FS_ERR. */
int rain_line_decode(const char *line, size_t len, struct rain_grab *g);
/* 1 when the line is a grab line (starts "R "), whether valid or not. */
int rain_line_is_grab(const char *line, size_t len);

/* The public state at now_ms: "upcoming", "live", "empty" or "ended". */
const char *rain_state(int64_t now_ms, int64_t start_ms, int64_t end_ms, int64_t packets_left);

#endif
