/*
 * warmup: run once a minute by cron. Loads every published activity that
 * starts within the hour (or is live) and is not warm yet into Redis, renders
 * the public activity JSON into the CDN origin folder (render.h), then runs
 * the configured cdn_push_cmd. Idempotent: a second run changes nothing, and
 * a live stock counter is never reset (warm_activity writes it with SET NX).
 * Exit status 0, or 1 when any step failed (the next run retries).
 */
#include "conf.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "render.h"
#include "warm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WARMUP_AHEAD_MS (60 * 60 * 1000)

/* One row per activity item of the activities due for a warmup. */
static const char due_sql[] =
	"SELECT a.id, a.warmed_ms, ai.item_id FROM activities a"
	" LEFT JOIN activity_items ai ON ai.activity_id = a.id"
	" WHERE a.status = 'published' AND a.start_ms <= ? AND a.end_ms > ?"
	" ORDER BY a.id, ai.item_id";

/* 1 when the meta hash of (aid, iid) is missing, 0 present, FS_ERR down. */
static int
meta_missing(struct kv *kv, int64_t aid, int64_t iid)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc;

	kv_item_key(key, aid, iid, "meta");
	rep = kv_cmd(kv, "EXISTS %s", key);
	if (rep == NULL) {
		log_err("EXISTS %s: %s", key, kv->errstr);
		return FS_ERR;
	}
	if (rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 0;
	else {
		log_err("EXISTS %s: unexpected reply type %d", key, rep->type);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

/* Warms the due activities that are not warm. *nwarmed gets how many were
 * warmed. FS_OK, or FS_ERR when MySQL or Redis failed on any of them. */
static int
warm_due(struct kv *kv, struct db *d, int64_t now_ms, int *nwarmed)
{
	struct dbv args[] = {DBI(now_ms + WARMUP_AHEAD_MS), DBI(now_ms)};
	struct db_rows rows;
	int rc = FS_OK;

	*nwarmed = 0;
	if (db_query(d, due_sql, args, 2, &rows) != FS_OK) {
		log_err("warmup: list due activities: %s", db_errstr(d));
		return FS_ERR;
	}
	for (int row = 0; row < rows.nrows;) {
		int64_t aid = db_cell_int(&rows, row, 0);
		int cold = db_cell(&rows, row, 1) == NULL;
		int n;

		/* every item of aid: warm again as soon as one meta hash is gone */
		for (; row < rows.nrows && db_cell_int(&rows, row, 0) == aid; row++) {
			if (cold || db_cell(&rows, row, 2) == NULL)
				continue;
			n = meta_missing(kv, aid, db_cell_int(&rows, row, 2));
			if (n == FS_ERR) {
				rc = FS_ERR;
				goto out;
			}
			cold = n;
		}
		if (!cold)
			continue;
		n = warm_activity(kv, d, aid);
		if (n < 0) {
			log_err("warmup: activity %lld failed", (long long)aid);
			rc = FS_ERR;
			continue;
		}
		log_info("warmup: activity %lld: %d items loaded", (long long)aid, n);
		(*nwarmed)++;
	}
out:
	db_rows_free(&rows);
	return rc;
}

/* Runs cmd with the shell and logs how it ended. FS_OK when it exited 0. */
static int
push_origin(const char *cmd)
{
	int st;

	if (cmd == NULL || cmd[0] == '\0')
		return FS_OK;
	fflush(NULL);
	st = system(cmd);
	if (st == -1) {
		log_err("cdn_push_cmd: could not run: %s", cmd);
		return FS_ERR;
	}
	if (WIFEXITED(st)) {
		if (WEXITSTATUS(st) == 0) {
			log_info("cdn_push_cmd exited 0");
			return FS_OK;
		}
		log_err("cdn_push_cmd exited %d: %s", WEXITSTATUS(st), cmd);
	} else if (WIFSIGNALED(st)) {
		log_err("cdn_push_cmd killed by signal %d: %s", WTERMSIG(st), cmd);
	}
	return FS_ERR;
}

int main(void);

int
main(void)
{
	struct kv *kv;
	struct db *d;
	const char *lvl, *origin;
	char origin_def[4096];
	int64_t now_ms;
	int nwarmed = 0, nfiles = 0, rc = 0;

	log_set_name("warmup");
	if (conf_load(NULL) != FS_OK)
		log_warn("no configuration file; using the environment and defaults");
	lvl = conf_str("log_level", "info");
	log_threshold = strcmp(lvl, "debug") == 0 ? LOG_LVL_DEBUG :
			strcmp(lvl, "warn") == 0 ? LOG_LVL_WARN : LOG_LVL_INFO;
	snprintf(origin_def, sizeof(origin_def), "%s/cdn", conf_str("state_dir", "var"));
	origin = conf_str("origin_dir", origin_def);

	kv = kv_open_conf();
	d = db_open_conf();
	now_ms = fs_now_ms();
	if (warm_due(kv, d, now_ms, &nwarmed) != FS_OK)
		rc = 1;
	if (render_origin(d, origin, now_ms, &nfiles) != FS_OK)
		rc = 1;
	if (push_origin(conf_str("cdn_push_cmd", "")) != FS_OK)
		rc = 1;
	log_info("warmup done: %d activities warmed, %d files written to %s%s", nwarmed, nfiles,
		 origin, rc ? " (with errors)" : "");

	db_close(d);
	kv_close(kv);
	conf_free();
	return rc;
}
