/*
 * mem.c: allocation that never returns NULL: out of memory is fatal (logged,
 * then abort), so callers need no NULL branch.
 */
#include "mem.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

void *
mem_alloc(unsigned long n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory (%lu bytes)", n);
	return p;
}

void *
mem_calloc(unsigned long n, unsigned long size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory (%lu x %lu bytes)", n, size);
	return p;
}

void *
mem_realloc(void *p, unsigned long n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die("out of memory (%lu bytes)", n);
	return q;
}

char *
mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(mem_alloc(n), s, n);
}
