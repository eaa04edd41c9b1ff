/*
 * rain.c: the grab line codec and the public state of a rain.
 */
#include "rain.h"
#include "fs.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t
rain_line_encode(const struct rain_grab *g, char buf[RAIN_LINE_MAX])
{
	int n = snprintf(buf, RAIN_LINE_MAX, "R %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
			 " %" PRId64, g->grab_id, g->user_id, g->rain_id, g->amount_cents,
			 g->created_ms);
	return n < 0 ? 0 : (size_t)n;
}

int
rain_line_is_grab(const char *line, size_t len)
{
	return len >= 2 && line[0] == 'R' && line[1] == ' ';
}

int
rain_line_decode(const char *line, size_t len, struct rain_grab *g)
{
	char buf[RAIN_LINE_MAX], *p;
	int64_t v[5];

	if (!rain_line_is_grab(line, len) || len >= sizeof(buf) || memchr(line, '\0', len))
		return FS_ERR;
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf + 2;
	for (int i = 0; i < 5; i++) {
		char *sp = strchr(p, ' ');

		/* exactly five fields, single spaces */
		if ((i < 4) != (sp != NULL))
			return FS_ERR;
		if (sp)
			*sp = '\0';
		if (fs_parse_u63(p, &v[i]) != FS_OK)
			return FS_ERR;
		p = sp ? sp + 1 : p;
	}
	g->grab_id = v[0];
	g->user_id = v[1];
	g->rain_id = v[2];
	g->amount_cents = v[3];
	g->created_ms = v[4];
	return FS_OK;
}

const char *
rain_state(int64_t now_ms, int64_t start_ms, int64_t end_ms, int64_t packets_left)
{
	if (now_ms >= end_ms)
		return "ended";
	if (now_ms < start_ms)
		return "upcoming";
	return packets_left > 0 ? "live" : "empty";
}
