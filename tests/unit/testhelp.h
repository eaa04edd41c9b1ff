/*
 * testhelp.h: the smallest unit-test harness (after redis's testhelp.h).
 * test_cond("what it checks", expression); then test_report() in main,
 * which prints "N passed, N failed" and returns the exit status.
 */
#ifndef FS_TESTHELP_H
#define FS_TESTHELP_H

#include <stdio.h>

static int test_passed, test_failed;

#define test_cond(descr, _c) do { \
	if (_c) { test_passed++; } else { test_failed++; \
		printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, descr); } \
} while (0)

#define test_report() ( \
	printf("%d passed, %d failed\n", test_passed, test_failed), \
	test_failed == 0 ? 0 : 1)

#endif
