/*
 * log.c: leveled logging and the allocation wrappers that die on failure.
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

void *
xmalloc(unsigned long n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory (%lu bytes)", n);
	return p;
}

void *
xcalloc(unsigned long n, unsigned long size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory (%lu x %lu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, unsigned long n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die("out of memory (%lu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}
