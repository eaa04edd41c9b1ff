/*
 * warmup: run once a minute by cron. Loads every published activity that
 * starts within the hour (or is live) and is not warm yet into Redis, renders
 * the public activity JSON into the CDN origin folder (render.h), then runs
 * the configured cdn_push_cmd. Idempotent: a second run changes nothing, and
 * a live stock counter is never reset (warm_activity writes it with SET NX).
 * Exit status 0, or 1 when any step failed (the next run retries).
 */
#include "daemon.h"
#include "conf_keys.h"
#include "db.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_sale.h"
#include "log.h"
#include "rain_warm.h"
#include "render.h"
#include "warm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WARMUP_AHEAD_MS (60 * 60 * 1000)

/* Warms the due activities that are not warm. *nwarmed gets how many were
 * warmed. FS_OK, or FS_ERR when MySQL or Redis failed on any of them. */
static int
warm_due(struct kv *kv, struct db *d, int64_t now_ms, int *nwarmed)
{
	struct db_sale_due *rows;
	int rc = FS_OK, nrows;

	*nwarmed = 0;
	nrows = db_sale_due(d, now_ms + WARMUP_AHEAD_MS, now_ms, &rows);
	if (nrows == FS_ERR) {
		log_err("warmup: list due activities: %s", db_errstr(d));
		return FS_ERR;
	}
	for (int row = 0; row < nrows;) {
		int64_t aid = rows[row].aid;
		int cold = !rows[row].warmed;
		int n;

		/* every item of aid: warm again as soon as one meta hash is gone */
		for (; row < nrows && rows[row].aid == aid; row++) {
			if (cold || rows[row].iid == 0)
				continue;
			n = kv_sale_meta_exists(kv, aid, rows[row].iid);
			if (n == FS_ERR) {
				rc = FS_ERR;
				goto out;
			}
			cold = !n;
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
	free(rows);
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
	struct daemon dm;
	const char *origin;
	char origin_def[4096];
	int64_t now_ms;
	int nwarmed = 0, nfiles = 0, nrains = 0, rc = 0;

	daemon_start(&dm, "warmup", DAEMON_KV | DAEMON_DB);
	snprintf(origin_def, sizeof(origin_def), "%s/cdn", conf_keys_str(CONF_STATE_DIR));
	origin = conf_keys_str(CONF_ORIGIN_DIR) ? conf_keys_str(CONF_ORIGIN_DIR) : origin_def;

	now_ms = fs_now_ms();
	if (warm_due(dm.kv, dm.db, now_ms, &nwarmed) != FS_OK)
		rc = 1;
	if (rain_warm_due(dm.kv, dm.db, now_ms, WARMUP_AHEAD_MS, &nrains) != FS_OK)
		rc = 1;
	if (render_origin(dm.db, origin, now_ms, &nfiles) != FS_OK)
		rc = 1;
	if (push_origin(conf_keys_str(CONF_CDN_PUSH_CMD)) != FS_OK)
		rc = 1;
	log_info("warmup done: %d activities, %d rains warmed, %d files written to %s%s", nwarmed,
		 nrains, nfiles, origin, rc ? " (with errors)" : "");

	daemon_end(&dm);
	return rc;
}
