/* SPDX-License-Identifier: GPL-2.0-or-later
 * The intent of `isc init` and `isc deinit` (R/.host-op): what a killed one
 * was doing, so that the next one finishes or undoes it and says so.
 *
 * - Written (write, fsync, rename, fsync of R) once R exists and before
 *   anything outside R's folders is made: the network baseline, the audit
 *   registration, the unit, iscd.  Every step of both is idempotent, so the
 *   intent names the operation, not the step.
 * - "init fresh": a first init (nothing of the host existed); "init": a
 *   repair of an existing host; "deinit".
 * - Removed (unlink, fsync of R) after the operation's last step; deinit
 *   removes it last of all R's entries, before R itself.
 * - Test builds (ISC_TEST_HOOKS): isc_host_test_point kills the process at
 *   the step ISC_TEST_KILL_AT names, so that a test can kill it exactly
 *   there. */
#include "host/host-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

#define INTENT_NAME ".host-op"

static const char *const op_text[] = {
	[ISC_HOST_OP_NONE] = "",
	[ISC_HOST_OP_INIT] = "init",
	[ISC_HOST_OP_INIT_FRESH] = "init fresh",
	[ISC_HOST_OP_DEINIT] = "deinit",
};

enum isc_host_op isc_host_intent_read(const char *root)
{
	cleanup_free char *path = isc_host_path(root, INTENT_NAME);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file(path, &text, &len, 64, NULL) < 0)
		return ISC_HOST_OP_NONE;
	text[strcspn(text, "\n")] = '\0';
	for (size_t i = ISC_HOST_OP_INIT; i < ARRAY_SIZE(op_text); i++)
		if (strcmp(text, op_text[i]) == 0)
			return (enum isc_host_op)i;
	/* unreadable intent: the safe reading is an unfinished init */
	return ISC_HOST_OP_INIT;
}

int isc_host_intent_write(const char *root, enum isc_host_op op, isc_error **err)
{
	cleanup_close int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", root);
	cleanup_free char *text = isc_xasprintf("%s\n", op_text[op]);
	if (isc_write_file_durable(dfd, INTENT_NAME, text, strlen(text), 0600, err) < 0)
		return isc_error_wrap(err, "record the intent in %s", root);
	return 0;
}

int isc_host_intent_clear(const char *root, isc_error **err)
{
	cleanup_close int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", root);
	if (unlinkat(dfd, INTENT_NAME, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "remove %s/" INTENT_NAME, root);
	}
	if (fsync(dfd) < 0)
		return isc_error_set(err, errno, "fsync %s", root);
	return 0;
}

void isc_host_intent_say(const char *root, const char *verb, enum isc_host_op op, bool undo)
{
	if (op == ISC_HOST_OP_NONE)
		return;
	const char *was = op == ISC_HOST_OP_DEINIT ? "isc deinit" : "isc init";
	/* the one place the library speaks to the operator: the next command
	 * says what it finishes or undoes (docs/errors.md) */
	fprintf(stderr, "%s: %s the unfinished %s of %s\n", verb, undo ? "undoing" : "finishing", was, root);
}

bool isc_host_intent_is_file(const char *name)
{
	return strcmp(name, INTENT_NAME) == 0;
}

void isc_host_test_point(const char *step)
{
#ifdef ISC_TEST_HOOKS
	const char *at = getenv("ISC_TEST_KILL_AT");
	if (at != NULL && strcmp(at, step) == 0)
		raise(SIGKILL);
#else
	(void)step;
#endif
}
