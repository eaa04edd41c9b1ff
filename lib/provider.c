/*
 * provider.c: the refund call to the payment provider over libcurl (see
 * provider.h). A fresh easy handle per call: the job makes a few calls a
 * minute at most, and nothing of one call can leak into the next.
 */
#include "provider.h"
#include "fs.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static int opened;

int
provider_open(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return FS_ERR;
	opened = 1;
	return FS_OK;
}

void
provider_close(void)
{
	if (opened)
		curl_global_cleanup();
	opened = 0;
}

/* The answer's bytes, bounded: a provider that talks on is cut off. */
struct answer {
	char buf[REFUND_ANSWER_MAX];
	size_t len;
	int overflow;
};

static size_t
take(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > sizeof(a->buf) - a->len) {
		a->overflow = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	return len;
}

/* One POST of body to url; FS_OK with *status and the answer in a. */
static int
post(const char *url, const char *body, long timeout_ms, long *status, struct answer *a,
     char *err, size_t errlen)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	CURLcode rc = CURLE_FAILED_INIT;

	if (c != NULL && hdr != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
		/* no signals: a cron job with a timeout must not die of SIGALRM */
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	}
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s", a->overflow ? "the answer is too long" :
				      curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	return rc == CURLE_OK ? FS_OK : FS_ERR;
}

int
provider_refund(const char *url, const struct refund_call *q, long timeout_ms,
		char id[REFUND_ID_MAX + 1], char *err, size_t errlen)
{
	struct answer a;
	json_object *j = refund_call_to_json(q);
	long status = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = post(url, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), timeout_ms,
		  &status, &a, err, errlen);
	json_object_put(j);
	if (rc != FS_OK)
		return FS_ERR;
	if (status != 200) {
		snprintf(err, errlen, "HTTP %ld: %.*s", status, (int)(a.len > 200 ? 200 : a.len), a.buf);
		return FS_ERR;
	}
	if (refund_answer_parse(a.buf, a.len, id) != FS_OK) {
		snprintf(err, errlen, "the answer has no refund_id: %.*s",
			 (int)(a.len > 200 ? 200 : a.len), a.buf);
		return FS_ERR;
	}
	return FS_OK;
}
