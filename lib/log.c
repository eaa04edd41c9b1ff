/*
 * log.c: leveled logging; log_die ends the program.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LVL_INFO;
static const char *log_name = "flashsale";

void
log_set_name(const char *program)
{
	log_name = program;
}

static void
log_vwrite(const char *tag, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[1024], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* one fprintf so lines from several processes do not interleave */
	fprintf(stderr, "%s %s[%d] %s %s:%d: %s\n", stamp, log_name, (int)getpid(),
		tag, file, line, msg);
}

void
log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	static const char *tags[] = {"ERR", "WARN", "INFO", "DEBUG"};
	va_list ap;

	if (lvl > log_threshold)
		return;
	va_start(ap, fmt);
	log_vwrite(tags[lvl], file, line, fmt, ap);
	va_end(ap);
}

void
log_die(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("FATAL", file, line, fmt, ap);
	va_end(ap);
	abort();
}

void
log_set_level(const char *name)
{
	log_threshold = name && strcmp(name, "debug") == 0 ? LOG_LVL_DEBUG :
			name && strcmp(name, "warn") == 0 ? LOG_LVL_WARN : LOG_LVL_INFO;
}
