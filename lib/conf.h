/*
 * conf.h: the configuration, `key = value` lines from var/flashsale.conf
 * (path in $FLASH_CONF), each overridable by the environment variable
 * FLASH_<KEY in upper case>. Loaded once at start-up; values live until exit.
 */
#ifndef FS_CONF_H
#define FS_CONF_H

#include <stdint.h>

/* Reads the file at path (NULL: $FLASH_CONF, else var/flashsale.conf).
 * A missing file is FS_ERR; the environment still answers afterwards. */
int conf_load(const char *path);

/* The value of key, or def when unset. The string is owned by conf.
 * Programs read keys through conf_keys.h (typed, defaults in one table,
 * read once); these two are its back end. */
const char *conf_str(const char *key, const char *def);
/* The value of key as an integer, or def when unset or not a number. */
int64_t conf_int(const char *key, int64_t def);

/* Changes with every conf_load and conf_free (values read before are stale). */
unsigned conf_generation(void);

/* Frees what conf_load read (for leak checkers at exit). */
void conf_free(void);

#endif
