/*
 * render.h: page staticization. Renders the public activity JSON from MySQL
 * into the CDN origin folder (served at /cdn/), so that the pages' reads of
 * the catalogue never reach a FastCGI program:
 *   activities.json       {"activities":[ACTIVITY...]}: every published
 *                         activity that has not ended, by start time
 *   activity/AID.json     {"activity":ACTIVITY} for each warmed-up one
 * ACTIVITY is {"activity_id","name","description","start_ms","end_ms",
 * "status","items":[ITEM...]}, ITEM the static detail fields of API.md
 * (activity_id item_id name title description images price_cents
 * flash_price_cents per_user_limit start_ms end_ms) plus "stock", the units
 * allocated to the sale. Fields that change by the second (now_ms, state,
 * remaining) are left to GET /api/detail, so a file changes only when the
 * catalogue does and its ETag stays stable.
 */
#ifndef FS_RENDER_H
#define FS_RENDER_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* The public fields of an activity, {"activity_id","name","description",
 * "start_ms","end_ms"} (NULL strings as ""): the start of ACTIVITY above
 * and of GET /api/detail's activity, so the two never drift apart. */
json_object *render_activity_json(int64_t aid, const char *name, const char *description,
				  int64_t start_ms, int64_t end_ms);

/* Writes the files above into dir for the activities not ended at now_ms.
 * A file is rewritten (temp file + rename) only when its content changed;
 * *changed (may be NULL) gets the number of files written.
 * FS_OK, or FS_ERR when MySQL failed or a file could not be written. */
int render_origin(struct db *d, const char *dir, int64_t now_ms, int *changed);

/* Puts len bytes of data at path atomically unless the file already holds
 * exactly them. Returns 1 written, 0 unchanged, FS_ERR (errno set, logged). */
int render_file_put(const char *path, const char *data, size_t len);

#endif
