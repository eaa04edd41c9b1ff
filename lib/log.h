/*
 * log.h: leveled logging with file and line, to stderr (lighttpd sends a
 * backend's stderr to its breakage log). die() is for out of memory and
 * broken invariants only.
 */
#ifndef FS_LOG_H
#define FS_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above this level are skipped; set from the config's log_level. */
extern enum log_level log_threshold;

void log_set_name(const char *program);
void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
_Noreturn void log_die(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_write(LOG_LVL_ERR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) do { if (log_threshold >= LOG_LVL_INFO) \
	log_write(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_threshold >= LOG_LVL_DEBUG) \
	log_write(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define die(...) log_die(__FILE__, __LINE__, __VA_ARGS__)

/* Sets log_threshold from a log_level setting: debug, warn, else info. */
void log_set_level(const char *name);

#endif
