/*
 * jwt.c: HS256 sign and verify. Only the algorithm we sign with is accepted,
 * so "alg": "none" and key-confusion tricks fail before any signature check.
 */
#include "jwt.h"
#include "codec.h"
#include "fs.h"
#include "hmac.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

int
jwt_sign(const char *secret, int64_t sub, int64_t exp, char out[JWT_MAX])
{
	char payload[128];
	unsigned char mac[HMAC_LEN];
	size_t n, plen;

	plen = (size_t)snprintf(payload, sizeof(payload), "{\"sub\":\"%lld\",\"exp\":%lld}",
				(long long)sub, (long long)exp);
	n = codec_b64url_encode((const unsigned char *)jwt_header, sizeof(jwt_header) - 1, out);
	out[n++] = '.';
	n += codec_b64url_encode((const unsigned char *)payload, plen, out + n);
	hmac_sha256(secret, strlen(secret), out, n, mac);
	out[n++] = '.';
	codec_b64url_encode(mac, HMAC_LEN, out + n);
	return FS_OK;
}

/* Decodes one base64url part into a JSON object; caller puts it. */
static json_object *
part_json(const char *s, size_t n)
{
	unsigned char buf[JWT_MAX];
	long len;
	json_object *o;
	json_tokener *tok;

	if (n == 0 || n > JWT_MAX)
		return NULL;
	len = codec_b64url_decode(s, n, buf);
	if (len <= 0)
		return NULL;
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
			  json_tokener_get_parse_end(tok) != (size_t)len ||
			  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int
claim_sub(json_object *payload, int64_t *sub)
{
	json_object *v;

	if (!json_object_object_get_ex(payload, "sub", &v))
		return FS_ERR;
	if (json_object_is_type(v, json_type_string))
		return fs_parse_id(json_object_get_string(v), sub);
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n <= 0 || n > FS_ID_MAX)
			return FS_ERR;
		*sub = n;
		return FS_OK;
	}
	return FS_ERR;
}

int
jwt_verify(const char *secret, const char *token, size_t len, int64_t now_s, int64_t *sub)
{
	const char *dot1, *dot2, *end = token + len;
	unsigned char mac[HMAC_LEN], sig[JWT_MAX];
	json_object *header = NULL, *payload = NULL, *v;
	int rc = FS_ERR;
	long siglen;

	if (len == 0 || len >= JWT_MAX || secret == NULL || *secret == '\0')
		return FS_ERR;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return FS_ERR;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
		return FS_ERR;

	header = part_json(token, (size_t)(dot1 - token));
	if (header == NULL || !json_object_object_get_ex(header, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "HS256") != 0)
		goto out;

	siglen = codec_b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), sig);
	hmac_sha256(secret, strlen(secret), token, (size_t)(dot2 - token), mac);
	if (siglen != HMAC_LEN || !fs_ct_equal(mac, HMAC_LEN, sig, HMAC_LEN))
		goto out;

	payload = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (payload == NULL || !json_object_object_get_ex(payload, "exp", &v))
		goto out;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		goto out;
	if (json_object_get_double(v) <= (double)now_s)
		goto out;
	if (claim_sub(payload, sub) != FS_OK)
		goto out;
	rc = FS_OK;
out:
	json_object_put(header);
	json_object_put(payload);
	return rc;
}
