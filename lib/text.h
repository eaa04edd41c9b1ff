/*
 * text.h: a growing text buffer (printf-style appends, never fails: out of
 * memory is fatal, mem.h).
 */
#ifndef FS_TEXT_H
#define FS_TEXT_H

#include <stdarg.h>
#include <stddef.h>

struct text {
	char *s; /* NUL-terminated once anything was added; NULL before */
	size_t len, cap;
};

void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_free(struct text *t);

#endif
