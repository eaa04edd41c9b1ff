/*
 * hmac.c: HMAC-SHA256 over OpenSSL 3's EVP_MAC; its hex form uses codec.c.
 * The one-shot HMAC() looks the algorithm up and keys it anew on every
 * call, which cost about as much as the rest of a token check on the order
 * path; the keys are few and fixed (the JWT secret, the order secret, the
 * payment key), so each keeps a keyed context that a call copies.
 */
#include "hmac.h"
#include "codec.h"
#include "fs.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* keyed contexts kept; a further key takes the place of the oldest */
#define KEYS_KEPT 4

static struct {
	unsigned char *key;
	size_t len;
	EVP_MAC_CTX *ctx;
} kept[KEYS_KEPT];
static int kept_next;
static EVP_MAC *hmac_alg;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

/* A keyed context for key, or NULL; the caller holds kept_lock. */
static EVP_MAC_CTX *
keyed(const char *key, size_t keylen)
{
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	int i = kept_next;

	/* our own secrets against our own copies: no attacker input here */
	for (int k = 0; k < KEYS_KEPT; k++)
		if (kept[k].ctx != NULL && kept[k].len == keylen && memcmp(kept[k].key, key, keylen) == 0)
			return kept[k].ctx;
	if (keylen == 0 || (hmac_alg == NULL && (hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL))
		return NULL;
	EVP_MAC_CTX_free(kept[i].ctx);
	OPENSSL_clear_free(kept[i].key, kept[i].len);
	kept[i].ctx = EVP_MAC_CTX_new(hmac_alg);
	kept[i].key = OPENSSL_memdup(key, keylen);
	kept[i].len = keylen;
	kept_next = (i + 1) % KEYS_KEPT;
	if (kept[i].ctx == NULL || kept[i].key == NULL ||
	    !EVP_MAC_init(kept[i].ctx, (const unsigned char *)key, keylen, params)) {
		EVP_MAC_CTX_free(kept[i].ctx);
		OPENSSL_clear_free(kept[i].key, keylen);
		kept[i].ctx = NULL;
		kept[i].key = NULL;
		return NULL;
	}
	return kept[i].ctx;
}

void
hmac_sha256(const char *key, size_t keylen, const void *msg, size_t len,
	    unsigned char mac[HMAC_LEN])
{
	unsigned int maclen = HMAC_LEN;
	EVP_MAC_CTX *c = NULL, *k;
	size_t out = 0;

	pthread_mutex_lock(&kept_lock);
	if ((k = keyed(key, keylen)) != NULL)
		c = EVP_MAC_CTX_dup(k);
	pthread_mutex_unlock(&kept_lock);
	if (c != NULL && EVP_MAC_update(c, msg, len) && EVP_MAC_final(c, mac, &out, HMAC_LEN) &&
	    out == HMAC_LEN) {
		EVP_MAC_CTX_free(c);
		return;
	}
	EVP_MAC_CTX_free(c);
	/* no keyed context (an empty key, or OpenSSL refused): the one-shot */
	HMAC(EVP_sha256(), key, (int)keylen, msg, len, mac, &maclen);
}

void
hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[2 * HMAC_LEN + 1])
{
	unsigned char mac[HMAC_LEN];

	hmac_sha256(key, strlen(key), msg, len, mac);
	codec_hex_encode(mac, HMAC_LEN, hex);
}
