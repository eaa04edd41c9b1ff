/*
 * kv_slot.h: Redis Cluster's key-to-slot function and the parser of its
 * redirections, the pure parts of cluster routing (kv_cluster.c uses them).
 */
#ifndef FS_KV_SLOT_H
#define FS_KV_SLOT_H

#include <stddef.h>

#define KV_SLOTS 16384

/* The slot of a key as Redis computes it: CRC16-XMODEM of the hash tag
 * (the bytes between the first '{' and the first '}' after it, when not
 * empty), else of the whole key, modulo 16384. */
unsigned kv_slot_of(const char *key, size_t len);

/* CRC16-XMODEM (polynomial 0x1021, initial 0), the checksum Redis uses. */
unsigned kv_slot_crc16(const char *buf, size_t len);

enum kv_redirect { KV_REDIRECT_NONE, KV_REDIRECT_MOVED, KV_REDIRECT_ASK };

/* Parses an error reply "MOVED <slot> <host>:<port>" or "ASK ..." (the
 * port follows the last ':', so an IPv6 host works). An empty host ("MOVED
 * 12 :7001") means the host of the node that answered: host is then "".
 * Returns KV_REDIRECT_NONE for any other or malformed text. */
enum kv_redirect kv_slot_redirect_parse(const char *err, size_t len, int *slot, char *host,
				   size_t hostcap, int *port);

#endif
