/*
 * conf.c: reads the generated configuration file; the environment wins over
 * the file so tests and operators can override one value without editing it.
 */
#include "conf.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conf_entry {
	char *key;
	char *value;
};

static struct conf_entry *entries;
static size_t nentries;

/* Bumped by every load and free, so conf_keys.c knows its values are stale.
 * Starts at 1: a value read before any load is read again after it. */
static unsigned generation = 1;

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
conf_load(const char *path)
{
	char line[4096];
	FILE *f;

	if (path == NULL)
		path = getenv("FLASH_CONF");
	if (path == NULL)
		path = "var/flashsale.conf";
	f = fopen(path, "r");
	if (f == NULL) {
		log_warn("open config %s: cannot read it, using environment and defaults", path);
		return FS_ERR;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq, *key, *p = trim(line);

		if (*p == '#' || *p == '\0' || (eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		key = trim(p);
		entries = mem_realloc(entries, (nentries + 1) * sizeof(*entries));
		entries[nentries].key = mem_strdup(key);
		entries[nentries].value = mem_strdup(trim(eq + 1));
		nentries++;
	}
	fclose(f);
	generation++; /* a second load answers anew */
	return FS_OK;
}

static const char *
conf_lookup(const char *key)
{
	char env[128] = "FLASH_";
	const char *v;
	size_t i, n = strlen(env);

	for (i = 0; key[i] && n + 1 < sizeof(env); i++)
		env[n++] = (char)toupper((unsigned char)key[i]);
	env[n] = '\0';
	if ((v = getenv(env)) != NULL)
		return v;
	/* the last line for a key wins, like a shell variable set twice */
	for (i = nentries; i-- > 0;)
		if (strcmp(entries[i].key, key) == 0)
			return entries[i].value;
	return NULL;
}

const char *
conf_str(const char *key, const char *def)
{
	const char *v = conf_lookup(key);

	return v ? v : def;
}

unsigned
conf_generation(void)
{
	return generation;
}

int64_t
conf_int(const char *key, int64_t def)
{
	const char *v = conf_str(key, NULL);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoll(v, &end, 10);
	if (*end != '\0') {
		log_warn("config %s = %s is not an integer, using %lld", key, v, (long long)def);
		return def;
	}
	return n;
}

void
conf_free(void)
{
	for (size_t i = 0; i < nentries; i++) {
		free(entries[i].key);
		free(entries[i].value);
	}
	free(entries);
	entries = NULL;
	nentries = 0;
	generation++;
}
