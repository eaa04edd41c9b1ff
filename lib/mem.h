/*
 * mem.h: allocation that never returns NULL (dies on failure).
 */
#ifndef FS_MEM_H
#define FS_MEM_H

void *mem_alloc(unsigned long n);
void *mem_calloc(unsigned long n, unsigned long size);
void *mem_realloc(void *p, unsigned long n);
char *mem_strdup(const char *s);

#endif
