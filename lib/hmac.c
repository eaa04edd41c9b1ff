/*
 * hmac.c: HMAC-SHA256 (the one-shot HMAC(); the HMAC_CTX calls are deprecated
 * in OpenSSL 3); its hex form uses codec.c.
 */
#include "hmac.h"
#include "codec.h"
#include "fs.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

void
hmac_sha256(const char *key, size_t keylen, const void *msg, size_t len,
	    unsigned char mac[HMAC_LEN])
{
	unsigned int maclen = HMAC_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, msg, len, mac, &maclen);
}

void
hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[2 * HMAC_LEN + 1])
{
	unsigned char mac[HMAC_LEN];

	hmac_sha256(key, strlen(key), msg, len, mac);
	codec_hex_encode(mac, HMAC_LEN, hex);
}
