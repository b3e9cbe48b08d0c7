/* SPDX-License-Identifier: GPL-2.0-or-later
 * Signal names for `isc-runtime kill` and process.* settings: "TERM",
 * "SIGTERM", "term", "15", "RTMIN+3", "SIGRTMAX-2". */
#include "base/signals.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

struct signal_name {
	const char *name;
	int sig;
};

/* Canonical names first: isc_signal_name() returns the first match. */
static const struct signal_name signal_names[] = {
	{ "SIGHUP", SIGHUP },
	{ "SIGINT", SIGINT },
	{ "SIGQUIT", SIGQUIT },
	{ "SIGILL", SIGILL },
	{ "SIGTRAP", SIGTRAP },
	{ "SIGABRT", SIGABRT },
	{ "SIGBUS", SIGBUS },
	{ "SIGFPE", SIGFPE },
	{ "SIGKILL", SIGKILL },
	{ "SIGUSR1", SIGUSR1 },
	{ "SIGSEGV", SIGSEGV },
	{ "SIGUSR2", SIGUSR2 },
	{ "SIGPIPE", SIGPIPE },
	{ "SIGALRM", SIGALRM },
	{ "SIGTERM", SIGTERM },
	{ "SIGSTKFLT", SIGSTKFLT },
	{ "SIGCHLD", SIGCHLD },
	{ "SIGCONT", SIGCONT },
	{ "SIGSTOP", SIGSTOP },
	{ "SIGTSTP", SIGTSTP },
	{ "SIGTTIN", SIGTTIN },
	{ "SIGTTOU", SIGTTOU },
	{ "SIGURG", SIGURG },
	{ "SIGXCPU", SIGXCPU },
	{ "SIGXFSZ", SIGXFSZ },
	{ "SIGVTALRM", SIGVTALRM },
	{ "SIGPROF", SIGPROF },
	{ "SIGWINCH", SIGWINCH },
	{ "SIGIO", SIGIO },
	{ "SIGPWR", SIGPWR },
	{ "SIGSYS", SIGSYS },
	/* aliases */
	{ "SIGIOT", SIGIOT },
	{ "SIGPOLL", SIGPOLL },
	{ "SIGCLD", SIGCHLD },
};

/* "SIGRTMIN", "SIGRTMIN+1", ... "SIGRTMIN+30" (SIGRTMAX with glibc's 34..64). */
static const char *const rt_names[] = {
	"SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",  "SIGRTMIN+5",  "SIGRTMIN+6",
	"SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",  "SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13",
	"SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17", "SIGRTMIN+18", "SIGRTMIN+19", "SIGRTMIN+20",
	"SIGRTMIN+21", "SIGRTMIN+22", "SIGRTMIN+23", "SIGRTMIN+24", "SIGRTMIN+25", "SIGRTMIN+26", "SIGRTMIN+27",
	"SIGRTMIN+28", "SIGRTMIN+29", "SIGRTMIN+30",
};

#define ISC_SIG_MAX 64

/* A small decimal number, the whole string; -1 otherwise. */
static int parse_small(const char *s)
{
	uint64_t v;
	if (s[0] == '\0' || strlen(s) > 3 || isc_parse_u64(s, &v) < 0)
		return -1;
	return (int)v;
}

/* "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-2" (prefix already removed). */
static int parse_realtime(const char *s)
{
	int base, sign;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		sign = 1;
	} else if (strncasecmp(s, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -1;
	}
	s += 5;
	if (*s == '\0')
		return base;
	if (*s != (sign > 0 ? '+' : '-'))
		return -1;
	int off = parse_small(s + 1);
	if (off < 0)
		return -1;
	int sig = base + sign * off;
	return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

int isc_signal_parse(const char *s)
{
	if (s == NULL || *s == '\0')
		return -1;
	if (*s >= '0' && *s <= '9') {
		int n = parse_small(s);
		return n >= 1 && n <= ISC_SIG_MAX ? n : -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (strcasecmp(signal_names[i].name + 3, s) == 0)
			return signal_names[i].sig;
	return parse_realtime(s);
}

const char *isc_signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].sig == sig)
			return signal_names[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX && (size_t)(sig - SIGRTMIN) < ARRAY_SIZE(rt_names))
		return rt_names[sig - SIGRTMIN];
	return NULL;
}
