/*
 * rebuild.h: putting one activity item's Redis state back in line with MySQL
 * (the truth) and the Redis journal (reserved orders MySQL does not have
 * yet), after a Redis crash, a lost AOF tail or a failover: rebuild.c holds
 * the MySQL side and the order of the steps, kv_journal.c the Redis scripts.
 * Everything works on one item tag {aid:iid} (one Redis Cluster slot), or,
 * for a sharded item, on each shard's tag in turn (docs/SHARDS.md): there
 *   Redis stock  = the sum over the shards, MySQL stock - units of journal
 *                  entries MySQL lacks, put right by adding the difference
 *                  (counted at one instant per shard) to the shards.
 *
 * What the rebuild makes true, atomically against orders placed meanwhile:
 *   Redis stock  = MySQL stock - units of journal entries MySQL lacks
 *   journal      = only entries MySQL lacks (the others are dropped, whatever
 *                  their age, and their status records written from MySQL)
 *   buyers       = every live MySQL order's user + every journal entry's user
 *                  (refilled when the Redis server changed, see below)
 *   released     = every closed, cancelled or failed order (MySQL counted its
 *                  units back already, so a late release must not add them)
 * MySQL's activity_items row of the item is locked (SELECT ... FOR UPDATE)
 * while the Redis side is computed: no handler, cancel or expiry can change
 * the item's MySQL stock meanwhile, so MySQL and the journal are read at
 * one instant.
 */
#ifndef FS_REBUILD_H
#define FS_REBUILD_H

#include <stdint.h>

#include "order.h"
#include "sale.h" /* struct rebuild_item */

struct db;
struct kv;

/* Ended sales' keys live this long once reconciled (a line no handler
 * could read stays for an operator to see, then goes). */
#define REBUILD_ENDED_KEEP_MS (24LL * 3600 * 1000)

/* What one rebuild found and did. */
struct rebuild_report {
	int64_t alloc;         /* units given to the sale */
	int64_t mysql_stock;   /* MySQL's unsold units */
	int64_t mysql_live;    /* units of unpaid and paid orders in MySQL */
	int64_t pending_units; /* units of journal entries MySQL lacks */
	int64_t pending;       /* such entries */
	int64_t junk;          /* journal lines that are no order line */
	int64_t confirmed;     /* entries dropped: MySQL had their orders */
	int have_stock;        /* Redis holds a stock counter (after the rebuild) */
	int had_stock;         /* ... and held one before */
	int64_t stock_before;  /* Redis stock before (when had_stock) */
	int64_t stock;         /* Redis stock after (when have_stock) */
	int live;              /* the sale's Redis keys are still alive */
	long buyers;           /* buyers refilled from MySQL, -1 when not needed */
};

/* --- rebuild.c --- */

/* Rebuilds the item's Redis state as above. The buyers hash is refilled from
 * MySQL only when the Redis server holding the item is not the one that
 * last did it (its run_id changed: a restart or a failover), as that is
 * the only way buyers get lost. FS_OK and *rep, or FS_ERR when a store
 * failed (nothing half-done is wrong: every step is idempotent). */
int rebuild_item(struct kv *kv, struct db *d, const struct rebuild_item *it,
		 struct rebuild_report *rep);

#endif
