/*
 * text.c: a growing text buffer for answers assembled piece by piece
 * (the Prometheus text, pages).
 */
#include "text.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>

void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (t->s && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n + 256;
		t->s = mem_realloc(t->s, t->cap);
	}
}

void
text_free(struct text *t)
{
	free(t->s);
	t->s = NULL;
	t->len = t->cap = 0;
}
